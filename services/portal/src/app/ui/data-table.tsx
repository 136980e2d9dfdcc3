import type { ComponentChildren } from 'preact';

export interface Column<T> {
  /** The column's header, and each cell's data-label: what a stacked card names the cell at phone width. */
  label: string;
  cell: (item: T) => ComponentChildren;
}

interface Props<T> {
  items: readonly T[];
  /** In order; `false` for a column this person does not get (the owner, for operators only). */
  columns: readonly (Column<T> | false)[];
  rowKey: (item: T) => string;
  /** The row's data-* attributes, which find a row (the browser tests, people's own scripts). */
  rowData?: (item: T) => Record<`data-${string}`, string>;
  /** Names the table for screen readers when no heading does (`labelledBy`). */
  caption?: string;
  labelledBy?: string;
  testId?: string;
}

/**
 * A table of items in its scrolling wrapper; at phone width its rows become stacked cards, each
 * cell labelled from its data-label (styles.css, `.data.stack`).
 */
export function DataTable<T>({ items, columns, rowKey, rowData, caption, labelledBy, testId }: Props<T>) {
  const shown = columns.filter((c): c is Column<T> => c !== false);
  return (
    <div class="table-wrap">
      <table class="data stack" aria-labelledby={labelledBy} data-testid={testId}>
        {caption ? <caption class="visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c.label} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={rowKey(item)} {...rowData?.(item)}>
              {shown.map((c) => (
                <td key={c.label} data-label={c.label}>
                  {c.cell(item)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

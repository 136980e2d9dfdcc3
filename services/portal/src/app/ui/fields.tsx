import type { ComponentChildren, InputHTMLAttributes } from 'preact';

/** What every labelled control has: its id, its label, a hint and the API's message for it. */
interface Labelled {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
}

/** A control's value as text, and what to call when a person changes it. */
interface Valued<V extends string = string> {
  value: V;
  onValue: (v: V) => void;
}

type Aria = { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string };

/** A labelled control with its hint and its error (from the API's errors[]) tied to it for screen readers. */
export function Field({
  id,
  label,
  error,
  hint,
  children,
}: Labelled & { children: (aria: Aria) => ComponentChildren }) {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({
        id,
        ...(error ? { 'aria-invalid': 'true' as const } : {}),
        ...(described ? { 'aria-describedby': described } : {}),
      })}
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

const typed = (e: Event): string =>
  (e.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;

export type TextFieldProps = Omit<
  InputHTMLAttributes<HTMLInputElement>,
  'id' | 'onInput' | 'value' | 'label'
> &
  Labelled &
  Valued;

export function TextField({ id, label, error, hint, value, onValue, ...input }: TextFieldProps) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      {(aria) => <input {...input} {...aria} value={value} onInput={(e) => onValue(typed(e))} />}
    </Field>
  );
}

interface SelectProps extends Labelled, Valued {
  options: { value: string; label: string; disabled?: boolean }[];
}

export function SelectField({ id, label, error, hint, value, onValue, options }: SelectProps) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      {(aria) => (
        <select {...aria} value={value} onChange={(e) => onValue(typed(e))}>
          {options.map((o) => (
            <option key={o.value} value={o.value} disabled={o.disabled}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

interface AreaProps extends Labelled, Valued {
  rows?: number;
  placeholder?: string;
}

export function TextAreaField({ id, label, error, hint, value, onValue, rows = 3, placeholder }: AreaProps) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      {(aria) => (
        <textarea
          {...aria}
          rows={rows}
          placeholder={placeholder}
          value={value}
          onInput={(e) => onValue(typed(e))}
        />
      )}
    </Field>
  );
}

interface ChoicesProps<V extends string> {
  name: string;
  legend: string;
  options: { value: V; label: ComponentChildren; disabled?: boolean }[];
  error?: string | undefined;
}

/** Any number of the options, as checkboxes; `onSelected` gets the new selection. */
export function CheckboxGroup({
  selected,
  onSelected,
  ...group
}: ChoicesProps<string> & { selected: readonly string[]; onSelected: (values: string[]) => void }) {
  return (
    <Choices
      {...group}
      type="checkbox"
      selected={selected}
      onToggle={(v, on) => onSelected(on ? [...selected, v] : selected.filter((x) => x !== v))}
    />
  );
}

/** One of the options, as radio buttons. */
export function RadioGroup<V extends string>({ value, onValue, ...group }: ChoicesProps<V> & Valued<V>) {
  return <Choices {...group} type="radio" selected={[value]} onToggle={(v, on) => on && onValue(v)} />;
}

/** Checkboxes or radio buttons in a fieldset with a legend, its error under it. */
function Choices<V extends string>({
  name,
  legend,
  type,
  options,
  selected,
  onToggle,
  error,
}: ChoicesProps<V> & {
  type: 'checkbox' | 'radio';
  selected: readonly string[];
  onToggle: (value: V, on: boolean) => void;
}) {
  const errId = `${name}-error`;
  return (
    <fieldset
      class={`choices${error ? ' field-invalid' : ''}`}
      aria-describedby={error ? errId : undefined}
      aria-invalid={error ? 'true' : undefined}
    >
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o.value} class="choice">
          <input
            type={type}
            name={name}
            value={o.value}
            disabled={o.disabled}
            checked={selected.includes(o.value)}
            onChange={(e) => onToggle(o.value, (e.currentTarget as HTMLInputElement).checked)}
          />{' '}
          {o.label}
        </label>
      ))}
      {error ? (
        <p class="field-error" id={errId}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

import type { ComponentChildren, InputHTMLAttributes } from 'preact';

interface FieldProps {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
  children: (aria: { id: string; 'aria-invalid'?: 'true'; 'aria-describedby'?: string }) => ComponentChildren;
}

/** A labelled control with its hint and its error (from the API's errors[]) tied to it for screen readers. */
export function Field({ id, label, error, hint, children }: FieldProps) {
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

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onInput' | 'value' | 'label'> & {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
};

export function TextField({ id, label, value, onValue, error, hint, ...rest }: InputProps) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      {(aria) => (
        <input
          {...rest}
          {...aria}
          value={value}
          onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        />
      )}
    </Field>
  );
}

interface SelectProps {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  options: { value: string; label: string; disabled?: boolean }[];
  error?: string | undefined;
  hint?: ComponentChildren;
}

export function SelectField({ id, label, value, onValue, options, error, hint }: SelectProps) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      {(aria) => (
        <select
          {...aria}
          value={value}
          onChange={(e) => onValue((e.currentTarget as HTMLSelectElement).value)}
        >
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

interface AreaProps {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
  rows?: number;
  placeholder?: string;
}

export function TextAreaField({ id, label, value, onValue, error, hint, rows = 3, placeholder }: AreaProps) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      {(aria) => (
        <textarea
          {...aria}
          rows={rows}
          placeholder={placeholder}
          value={value}
          onInput={(e) => onValue((e.currentTarget as HTMLTextAreaElement).value)}
        />
      )}
    </Field>
  );
}

interface ChoiceGroupProps {
  name: string;
  legend: string;
  type: 'checkbox' | 'radio';
  options: { value: string; label: ComponentChildren; disabled?: boolean }[];
  selected: readonly string[];
  onToggle: (value: string, on: boolean) => void;
  error?: string | undefined;
}

/** Checkboxes or radio buttons in a fieldset with a legend, its error under it. */
export function ChoiceGroup({ name, legend, type, options, selected, onToggle, error }: ChoiceGroupProps) {
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

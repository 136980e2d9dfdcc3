import type { ComponentChildren } from 'preact';
import type { ApiProblem } from '../api/client';
import { TextAreaField, TextField, type TextFieldProps } from './fields';
import { ProblemBox, fieldError } from './problem-box';

const MiB = 1024 * 1024;

/** A memory figure as a person types it (MiB) and as the API takes it (bytes). */
export const mibToBytes = (mib: string | number): number => Math.round(Number(mib) * MiB);
export const bytesToMib = (bytes: number): number => Math.round(bytes / MiB);

/** A container's limits as typed: millicores and MiB. */
export interface LimitValues {
  cpu: string;
  memory: string;
}

/** The limits filled in, as the API takes them; one left empty is the platform's default. */
export function filledLimits(v: LimitValues): { cpuMillis?: number; memoryBytes?: number } {
  return {
    ...(v.cpu.trim() ? { cpuMillis: Number(v.cpu) } : {}),
    ...(v.memory.trim() ? { memoryBytes: mibToBytes(v.memory) } : {}),
  };
}

/** The ssh keys of a textarea, one a line. */
export const keyLines = (text: string): string[] =>
  text
    .split('\n')
    .map((k) => k.trim())
    .filter(Boolean);

type LimitFieldOptions = Partial<Pick<TextFieldProps, 'label' | 'placeholder' | 'hint' | 'step'>>;

/** The two limits: what the form calls them, their lowest values and the API's names for them. */
const LIMITS = [
  { key: 'cpu', label: 'CPU (millicores)', min: 10, apiField: 'cpuMillis' },
  { key: 'memory', label: 'Memory (MiB)', min: 6, apiField: 'memoryBytes' },
] as const;

/** CPU (millicores) and memory (MiB) side by side, the API's messages for cpuMillis and memoryBytes under them. */
export function LimitFields({
  idPrefix,
  value,
  onValue,
  problem,
  ...options
}: {
  /** The fields are `${idPrefix}-cpu` and `${idPrefix}-memory`. */
  idPrefix: string;
  value: LimitValues;
  onValue: (update: (v: LimitValues) => LimitValues) => void;
  problem: ApiProblem | null;
  /** What this form says differently (its labels, placeholders, hints). */
  cpu?: LimitFieldOptions;
  memory?: LimitFieldOptions;
}) {
  return (
    <div class="field-row">
      {LIMITS.map((l) => (
        <TextField
          key={l.key}
          id={`${idPrefix}-${l.key}`}
          label={l.label}
          type="number"
          min={l.min}
          {...options[l.key]}
          value={value[l.key]}
          onValue={(text) => onValue((v) => ({ ...v, [l.key]: text }))}
          error={fieldError(problem, l.apiField)}
        />
      ))}
    </div>
  );
}

export function SshKeysField({
  id,
  value,
  onValue,
  problem,
  rows,
  placeholder,
  hint,
}: {
  id: string;
  value: string;
  onValue: (v: string) => void;
  problem: ApiProblem | null;
  rows: number;
  placeholder?: string;
  hint: string;
}) {
  return (
    <TextAreaField
      id={id}
      label="SSH public keys"
      value={value}
      onValue={onValue}
      rows={rows}
      placeholder={placeholder}
      hint={hint}
      error={fieldError(problem, 'sshPublicKeys')}
    />
  );
}

/** An address prefilled with ipam's suggestion, a button to ask again, and why ipam could not suggest one. */
export function SuggestedAddressField({
  onSuggest,
  suggestProblem,
  ...field
}: {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  hint: ComponentChildren;
  error: string | undefined;
  onSuggest: () => void;
  suggestProblem: ApiProblem | null;
}) {
  return (
    <>
      <div class="field-row">
        <TextField {...field} inputMode="decimal" />
        <button type="button" class="small align-end" onClick={onSuggest}>
          Suggest again
        </button>
      </div>
      <ProblemBox problem={suggestProblem} />
    </>
  );
}

import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { onLinkClick } from '../router';

export function Link(
  props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children: ComponentChildren },
) {
  return <a {...props} onClick={onLinkClick} />;
}

const STATE_CLASS: Record<string, string> = {
  running: 'ok',
  up: 'ok',
  succeeded: 'ok',
  active: 'ok',
  pending: 'wait',
  creating: 'wait',
  removing: 'wait',
  upcoming: 'wait',
  unknown: 'wait',
  partially_succeeded: 'warn',
  stopped: 'idle',
  exited: 'idle',
  ended: 'idle',
  cancelled: 'idle',
  removed: 'idle',
  failed: 'bad',
  error: 'bad',
  down: 'bad',
};

/** A state as a word with a colour; the word carries the meaning, the colour only helps. */
export function StateBadge({ state }: { state: string }) {
  return <span class={`badge badge-${STATE_CLASS[state] ?? 'idle'}`}>{state.replace(/_/g, ' ')}</span>;
}

/** Copies text (an ssh command) and says so in a live region. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid('Copied');
    } catch {
      setSaid('Select the text and copy it');
    }
    setTimeout(() => setSaid(''), 2500);
  };
  return (
    <span class="copy">
      <code class="copy-text">{text}</code>
      <button type="button" class="small" aria-label={label} onClick={copy}>
        Copy
      </button>
      <span class="copy-said" role="status">
        {said}
      </span>
    </span>
  );
}

/** A used/limit bar with the figures as text (the bar alone says nothing to a screen reader). */
export function UseBar({
  label,
  used,
  total,
  text,
}: {
  label: string;
  used: number;
  total: number | null;
  text: string;
}) {
  const share = total ? Math.min(1, used / total) : 0;
  return (
    <div class="usebar">
      <span class="usebar-label">{label}</span>
      <meter min={0} max={1} value={share} aria-label={`${label}: ${text}`} />
      <span class="usebar-text">{text}</span>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** What the last action did, in a live region that is there (and empty) before anything is said. */
export function StatusLine({ text }: { text: string }) {
  return (
    <p role="status" class="said">
      {text}
    </p>
  );
}

/** A form's submit button, which says what it is doing and cannot be pressed again while busy. */
export function SubmitButton({
  busy,
  busyLabel,
  disabled = false,
  class: cls,
  children,
}: {
  busy: boolean;
  busyLabel?: string;
  disabled?: boolean;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <button type="submit" class={cls} disabled={busy || disabled}>
      {busy && busyLabel ? busyLabel : children}
    </button>
  );
}

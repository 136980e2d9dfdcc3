import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

interface Props {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  /** Where focus goes when what opened the dialog is gone (default: the page's heading). */
  fallbackFocus?: () => HTMLElement | null;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Tab from the last control goes to the first and Shift+Tab from the first to the last: the
 * native modal makes the page inert, but would still let focus leave for the browser's own UI.
 */
function trapTab(e: KeyboardEvent): void {
  if (e.key !== 'Tab') return;
  const d = e.currentTarget as HTMLDialogElement;
  const items = [...d.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) => el.offsetParent !== null && !el.closest('dialog:not([open])') && el.closest('dialog') === d,
  );
  if (items.length === 0) return;
  const first = items[0]!;
  const last = items[items.length - 1]!;
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/**
 * A modal dialog: the native <dialog> shown with showModal(), so the page behind is inert; Tab
 * and Shift+Tab cycle inside it; Escape closes it; focus goes back to what opened it.
 */
export function Dialog({ open, title, onClose, children, fallbackFocus }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
      const first = d.querySelector<HTMLElement>(
        '[autofocus], input, select, textarea, button:not(.dialog-close)',
      );
      first?.focus();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const onDialogClose = () => {
      const back = opener.current as HTMLElement | null;
      if (back?.isConnected) back.focus();
      else (fallbackFocus?.() ?? document.querySelector<HTMLElement>('main h1'))?.focus();
      onClose();
    };
    d.addEventListener('close', onDialogClose);
    return () => d.removeEventListener('close', onDialogClose);
  }, [onClose, fallbackFocus]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={titleId} onKeyDown={trapTab}>
      <div class="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="dialog-close" aria-label="Close" onClick={() => ref.current?.close()}>
          ×
        </button>
      </div>
      {open ? children : null}
    </dialog>
  );
}

interface ConfirmProps {
  fallbackFocus?: () => HTMLElement | null;
  open: boolean;
  title: string;
  message: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children?: ComponentChildren;
}

export function ConfirmDialog({
  open,
  title,
  message,
  confirmLabel,
  busy,
  onConfirm,
  onClose,
  children,
  fallbackFocus,
}: ConfirmProps) {
  return (
    <Dialog open={open} title={title} onClose={onClose} fallbackFocus={fallbackFocus}>
      <p>{message}</p>
      {children}
      <div class="actions">
        <button type="button" class="danger" autofocus disabled={busy} onClick={onConfirm}>
          {busy ? 'Working…' : confirmLabel}
        </button>
        <button type="button" onClick={onClose}>
          Keep it
        </button>
      </div>
    </Dialog>
  );
}

import { useState } from 'preact/hooks';
import { containerAction, removeContainer } from '../api/endpoints';
import type { Container } from '../api/types';
import { ConfirmDialog } from './dialog';
import { useAction } from './hooks';
import { ProblemBox } from './problem-box';

type Lifecycle = 'start' | 'stop' | 'restart';
const LIFECYCLE: { action: Lifecycle; label: string; needs: 'stopped' | 'running' }[] = [
  { action: 'start', label: 'Start', needs: 'stopped' },
  { action: 'stop', label: 'Stop', needs: 'running' },
  { action: 'restart', label: 'Restart', needs: 'running' },
];

interface Props {
  c: Pick<Container, 'id' | 'name' | 'state'>;
  onChanged: (c: Container) => void;
  onRemoved: (id: string) => void;
  compact?: boolean;
}

/** Start, stop, restart and remove one container; each button names the container for screen readers. */
export function ContainerActions({ c, onChanged, onRemoved, compact }: Props) {
  const { busy, problem, run } = useAction();
  const [confirming, setConfirming] = useState(false);
  const running = c.state === 'running';
  const stopped = c.state === 'stopped' || c.state === 'exited' || c.state === 'error';
  const act = async (action: Lifecycle) => {
    const updated = await run(() => containerAction(c.id, action));
    if (updated) onChanged(updated);
  };
  const remove = async () => {
    const done = await run(async () => {
      await removeContainer(c.id, running);
      return true;
    });
    setConfirming(false);
    if (done) onRemoved(c.id);
  };
  const cls = compact ? 'small' : '';
  return (
    <div class="row-actions">
      {LIFECYCLE.map(({ action, label, needs }) => (
        <button
          key={action}
          type="button"
          class={cls}
          disabled={busy || !{ stopped, running }[needs]}
          aria-label={`${label} ${c.name}`}
          onClick={() => void act(action)}
        >
          {label}
        </button>
      ))}
      <button
        type="button"
        class={`${cls} danger`}
        disabled={busy || c.state === 'removing' || c.state === 'creating'}
        aria-label={`Remove ${c.name}`}
        onClick={() => setConfirming(true)}
      >
        Remove
      </button>
      <ConfirmDialog
        open={confirming}
        title={`Remove ${c.name}?`}
        message={
          running
            ? `${c.name} is running: it is stopped, removed, and its addresses are released.`
            : `${c.name} is removed and its addresses are released.`
        }
        confirmLabel={`Remove ${c.name}`}
        busy={busy}
        onConfirm={() => void remove()}
        onClose={() => setConfirming(false)}
      />
      {problem ? <ProblemBox problem={problem} /> : null}
    </div>
  );
}

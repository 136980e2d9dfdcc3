import { useState } from 'preact/hooks';
import { getQuota, getUsage, listUsers, putQuota } from '../api/endpoints';
import type { LimitUse, Quota, Usage } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { bytes, cpuMillis, when } from '../format';
import { StatusLine, SubmitButton } from '../ui/bits';
import { bytesToMib, mibToBytes } from '../ui/container-fields';
import { DataTable } from '../ui/data-table';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { AsyncList } from '../ui/load-status';
import { ProblemBox, fieldError } from '../ui/problem-box';

interface Row {
  name: string;
  createdVia: string;
  createdAt: string;
  quota: Quota;
  usage: Usage;
}

/** Operators: every user quota knows, their limits and what they use now; limits changed per user. */
export function UsersPage() {
  const s = useSession()!;
  const rows = useLoad(
    async (): Promise<Row[]> => {
      const users = await listUsers();
      return Promise.all(
        users.map(async (u) => ({ ...u, quota: await getQuota(u.name), usage: await getUsage(u.name) })),
      );
    },
    [],
    15_000,
  );
  const [editing, setEditing] = useState<string | null>(null);
  const [newUser, setNewUser] = useState('');
  const [said, setSaid] = useState('');
  if (!actsForOthers(s))
    return (
      <section>
        <h1 tabIndex={-1}>Users and quotas</h1>
        <p>Only operators see every user’s quota. Yours is on the platform’s usage endpoint.</p>
      </section>
    );
  const current = rows.data?.find((r) => r.name === editing);
  return (
    <section>
      <h1 tabIndex={-1}>Users and quotas</h1>
      <StatusLine text={said} />
      <AsyncList loaded={rows} what="the users">
        {(items) => (
          <DataTable
            caption="Users with their use against each limit"
            items={items}
            rowKey={(r) => r.name}
            rowData={(r) => ({ 'data-user': r.name })}
            columns={[
              {
                label: 'User',
                cell: (r) => (
                  <>
                    {r.name}
                    <span class="muted small-text"> ({r.createdVia})</span>
                  </>
                ),
              },
              { label: 'Containers', cell: (r) => use(r.usage.containers, String) },
              { label: 'CPU', cell: (r) => use(r.usage.cpuMillis, cpuMillis) },
              { label: 'Memory', cell: (r) => use(r.usage.memoryBytes, (v) => bytes(v, 0)) },
              { label: 'Addresses', cell: (r) => use(r.usage.addresses, String) },
              {
                label: 'Reservations',
                cell: ({ usage: { reservations: u } }) =>
                  `${u.active} active, ${u.upcoming} upcoming of ${u.limit}`,
              },
              { label: 'Known since', cell: (r) => when(r.createdAt) },
              {
                label: 'Quota',
                cell: (r) => (
                  <>
                    <button
                      type="button"
                      class="small"
                      aria-label={`Change the quota of ${r.name}`}
                      onClick={() => setEditing(r.name)}
                    >
                      Change
                    </button>
                    {r.quota.overridden.length ? (
                      <span class="muted small-text"> set: {r.quota.overridden.join(', ')}</span>
                    ) : null}
                  </>
                ),
              },
            ]}
          />
        )}
      </AsyncList>
      <form
        class="form inline-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (newUser.trim()) setEditing(newUser.trim());
        }}
      >
        <h2>Set the quota of another user</h2>
        <TextField
          id="quota-user"
          label="User name"
          value={newUser}
          onValue={setNewUser}
          hint="A user not seen yet is created with these limits."
        />
        <div class="actions">
          <button type="submit">Set their quota</button>
        </div>
      </form>
      <QuotaDialog
        user={editing}
        quota={current?.quota}
        onClose={() => setEditing(null)}
        onSaved={(q) => {
          setEditing(null);
          setSaid(`Quota of ${q.user} saved.`);
          void rows.reload();
        }}
      />
    </section>
  );
}

function use(u: LimitUse, fmt: (v: number) => string): string {
  return `${fmt(u.inUse)}${u.held ? ` (+${fmt(u.held)} held)` : ''} of ${fmt(u.limit)}`;
}

interface QuotaEditing {
  quota: Quota | undefined;
  onClose: () => void;
  onSaved: (q: Quota) => void;
}

function QuotaDialog({ user, ...editing }: QuotaEditing & { user: string | null }) {
  return (
    <Dialog open={user !== null} title={`Quota of ${user ?? ''}`} onClose={editing.onClose}>
      {user ? <QuotaForm key={user} user={user} {...editing} /> : null}
    </Dialog>
  );
}

type LimitKey = keyof Omit<Quota, 'user' | 'overridden'>;

/** The limits a quota sets, as the form shows them; memory in MiB, the rest as the API counts them. */
const LIMITS: { key: LimitKey; id: string; label: string; mib?: true }[] = [
  { key: 'maxContainers', id: 'q-containers', label: 'Containers' },
  { key: 'maxCpuMillis', id: 'q-cpu', label: 'CPU (millicores)' },
  { key: 'maxMemoryBytes', id: 'q-memory', label: 'Memory (MiB)', mib: true },
  { key: 'maxAddresses', id: 'q-addresses', label: 'Addresses' },
  { key: 'maxConcurrentReservations', id: 'q-reservations', label: 'Reservations at once' },
];
const LIMIT_KEYS = LIMITS.map((l) => l.key);

function QuotaForm({ user, quota, onClose, onSaved }: QuotaEditing & { user: string }) {
  // Only the limits set for this user are filled in; an empty one is the platform's default (its value shown).
  const shown = (l: (typeof LIMITS)[number], v: number) => String(l.mib ? bytesToMib(v) : Math.round(v));
  const [values, setValues] = useState(
    () =>
      Object.fromEntries(
        LIMITS.map((l) => [l.key, quota?.overridden.includes(l.key) ? shown(l, quota[l.key]) : '']),
      ) as Record<LimitKey, string>,
  );
  const { busy, problem, run } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body = Object.fromEntries(
      LIMITS.map((l) => {
        const v = values[l.key];
        return [l.key, v.trim() === '' ? null : l.mib ? mibToBytes(v) : Number(v)];
      }),
    );
    const q = await run(() => putQuota(user, body));
    if (q) onSaved(q);
  };
  return (
    <form class="form" onSubmit={submit} noValidate>
      <p class="hint">An empty limit is the platform’s default (shown greyed).</p>
      {LIMITS.map((l) => (
        <TextField
          key={l.key}
          id={l.id}
          placeholder={
            quota && !quota.overridden.includes(l.key) ? `default ${shown(l, quota[l.key])}` : undefined
          }
          label={l.label}
          type="number"
          min={0}
          value={values[l.key]}
          onValue={(v) => setValues((cur) => ({ ...cur, [l.key]: v }))}
          error={fieldError(problem, l.key)}
        />
      ))}
      <ProblemBox problem={problem} shownFields={LIMIT_KEYS} />
      <div class="actions">
        <SubmitButton class="primary" busy={busy} busyLabel="Saving…">
          Save
        </SubmitButton>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}

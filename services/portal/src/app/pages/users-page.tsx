import { useState } from 'preact/hooks';
import { getQuota, getUsage, listUsers, putQuota } from '../api/endpoints';
import type { LimitUse, Quota, Usage } from '../api/types';
import { actsForOthers, useSession } from '../auth/session-store';
import { bytes, cpuMillis, when } from '../format';
import { Loading } from '../ui/bits';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { ProblemBox, fieldError } from '../ui/problem-box';

const MiB = 1024 * 1024;

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
      <p role="status" class="said">
        {said}
      </p>
      <ProblemBox problem={rows.problem} />
      {rows.loading && !rows.data ? <Loading what="the users" /> : null}
      {rows.data ? (
        <div class="table-wrap">
          <table class="data stack">
            <caption class="visually-hidden">Users with their use against each limit</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Containers</th>
                <th scope="col">CPU</th>
                <th scope="col">Memory</th>
                <th scope="col">Addresses</th>
                <th scope="col">Reservations</th>
                <th scope="col">Known since</th>
                <th scope="col">Quota</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map((r) => (
                <tr key={r.name} data-user={r.name}>
                  <td data-label="User">
                    {r.name}
                    <span class="muted small-text"> ({r.createdVia})</span>
                  </td>
                  <td data-label="Containers">{use(r.usage.containers, String)}</td>
                  <td data-label="CPU">{use(r.usage.cpuMillis, cpuMillis)}</td>
                  <td data-label="Memory">{use(r.usage.memoryBytes, (v) => bytes(v, 0))}</td>
                  <td data-label="Addresses">{use(r.usage.addresses, String)}</td>
                  <td data-label="Reservations">
                    {r.usage.reservations.active} active, {r.usage.reservations.upcoming} upcoming of{' '}
                    {r.usage.reservations.limit}
                  </td>
                  <td data-label="Known since">{when(r.createdAt)}</td>
                  <td data-label="Quota">
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
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
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

function QuotaDialog({
  user,
  quota,
  onClose,
  onSaved,
}: {
  user: string | null;
  quota: Quota | undefined;
  onClose: () => void;
  onSaved: (q: Quota) => void;
}) {
  return (
    <Dialog open={user !== null} title={`Quota of ${user ?? ''}`} onClose={onClose}>
      {user ? <QuotaForm key={user} user={user} quota={quota} onClose={onClose} onSaved={onSaved} /> : null}
    </Dialog>
  );
}

function QuotaForm({
  user,
  quota,
  onClose,
  onSaved,
}: {
  user: string;
  quota: Quota | undefined;
  onClose: () => void;
  onSaved: (q: Quota) => void;
}) {
  // Only the limits set for this user are filled in; an empty one is the platform's default (its value shown).
  const mine = (k: keyof Omit<Quota, 'user' | 'overridden'>, scale = 1) =>
    quota?.overridden.includes(k) ? String(Math.round(quota[k] / scale)) : '';
  const dflt = (k: keyof Omit<Quota, 'user' | 'overridden'>, scale = 1) =>
    quota && !quota.overridden.includes(k) ? `default ${Math.round(quota[k] / scale)}` : undefined;
  const [containers, setContainers] = useState(mine('maxContainers'));
  const [cpu, setCpu] = useState(mine('maxCpuMillis'));
  const [memory, setMemory] = useState(mine('maxMemoryBytes', MiB));
  const [addresses, setAddresses] = useState(mine('maxAddresses'));
  const [reservations, setReservations] = useState(mine('maxConcurrentReservations'));
  const { busy, problem, run } = useAction();
  const num = (v: string) => (v.trim() === '' ? null : Number(v));
  const submit = async (e: Event) => {
    e.preventDefault();
    const mem = num(memory);
    const q = await run(() =>
      putQuota(user, {
        maxContainers: num(containers),
        maxCpuMillis: num(cpu),
        maxMemoryBytes: mem === null ? null : Math.round(mem * MiB),
        maxAddresses: num(addresses),
        maxConcurrentReservations: num(reservations),
      }),
    );
    if (q) onSaved(q);
  };
  return (
    <form class="form" onSubmit={submit} noValidate>
      <p class="hint">An empty limit is the platform’s default (shown greyed).</p>
      <TextField
        id="q-containers"
        placeholder={dflt('maxContainers')}
        label="Containers"
        type="number"
        min={0}
        value={containers}
        onValue={setContainers}
        error={fieldError(problem, 'maxContainers')}
      />
      <TextField
        id="q-cpu"
        placeholder={dflt('maxCpuMillis')}
        label="CPU (millicores)"
        type="number"
        min={0}
        value={cpu}
        onValue={setCpu}
        error={fieldError(problem, 'maxCpuMillis')}
      />
      <TextField
        id="q-memory"
        placeholder={dflt('maxMemoryBytes', MiB)}
        label="Memory (MiB)"
        type="number"
        min={0}
        value={memory}
        onValue={setMemory}
        error={fieldError(problem, 'maxMemoryBytes')}
      />
      <TextField
        id="q-addresses"
        placeholder={dflt('maxAddresses')}
        label="Addresses"
        type="number"
        min={0}
        value={addresses}
        onValue={setAddresses}
        error={fieldError(problem, 'maxAddresses')}
      />
      <TextField
        id="q-reservations"
        placeholder={dflt('maxConcurrentReservations')}
        label="Reservations at once"
        type="number"
        min={0}
        value={reservations}
        onValue={setReservations}
        error={fieldError(problem, 'maxConcurrentReservations')}
      />
      <ProblemBox
        problem={problem}
        shownFields={[
          'maxContainers',
          'maxCpuMillis',
          'maxMemoryBytes',
          'maxAddresses',
          'maxConcurrentReservations',
        ]}
      />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}

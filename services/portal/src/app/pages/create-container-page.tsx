import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { createContainer, listNodes, nodeImages, type CreateContainerBody } from '../api/endpoints';
import type { NodeInfo, Operation } from '../api/types';
import { navigate, type Route } from '../router';
import { useAddressSuggestion } from '../ui/address-suggestion';
import { Link, StateBadge, SubmitButton } from '../ui/bits';
import {
  LimitFields,
  SshKeysField,
  SuggestedAddressField,
  filledLimits,
  keyLines,
  type LimitValues,
} from '../ui/container-fields';
import { CheckboxGroup, SelectField, TextField } from '../ui/fields';
import { useAction, useLoad } from '../ui/hooks';
import { LoadStatus } from '../ui/load-status';
import { followOperation, operationError } from '../ui/operation-wait';
import { ProblemBox, fieldError } from '../ui/problem-box';

const FIELDS = [
  'node',
  'name',
  'image',
  'ip',
  'cpuMillis',
  'memoryBytes',
  'sshPublicKeys',
  'secondary',
  'command',
];

/** Create one container: any node, image, limits and ssh keys; the next free address suggested by ipam. */
export function CreateContainerPage({ route }: { route: Route }) {
  const nodes = useLoad(listNodes, []);
  const [node, setNode] = useState(route.query.get('node') ?? '');
  const [name, setName] = useState('');
  const [image, setImage] = useState('testbed/debian-ssh');
  const [ip, setIp] = useState('');
  // An address typed by hand is never replaced by a suggestion that arrives after it.
  const ipEdited = useRef(false);
  const suggestion = useAddressSuggestion();
  const [limits, setLimits] = useState<LimitValues>({ cpu: '', memory: '' });
  const [keys, setKeys] = useState('');
  const [command, setCommand] = useState('');
  const [secondary, setSecondary] = useState(false);
  const [op, setOp] = useState<Operation | null>(null);
  const { busy, problem, run } = useAction();

  const nodeInfo: NodeInfo | undefined = useMemo(
    () => nodes.data?.find((n) => n.name === node),
    [nodes.data, node],
  );
  useEffect(() => {
    if (!node && nodes.data?.length)
      setNode((nodes.data.find((n) => n.health.state === 'up') ?? nodes.data[0]!).name);
  }, [nodes.data]);
  const images = useLoad(async () => (node ? nodeImages(node) : []), [node]);

  const suggest = async (force = false) => {
    if (!nodeInfo) return;
    const next = (await suggestion.suggest(nodeInfo.experimentPool, 1))?.[0];
    if (next && (force || !ipEdited.current)) {
      ipEdited.current = false;
      setIp(next);
    }
  };
  useEffect(() => {
    void suggest();
  }, [nodeInfo?.experimentPool]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: CreateContainerBody = {
      node,
      name: name.trim(),
      image: image.trim(),
      ...(ip.trim() ? { ip: ip.trim() } : {}),
      ...filledLimits(limits),
      sshPublicKeys: keyLines(keys),
      ...(secondary ? { secondary: { pool: nodeInfo?.secondaryPool ?? 'secondary' } } : {}),
      ...(command.trim() ? { command: ['sh', '-c', command.trim()] } : {}),
    };
    await run(async () => {
      const answer = await createContainer(body);
      const done = await followOperation(answer.body, setOp);
      const item = done.items[0];
      if ((done.state === 'succeeded' || done.state === 'partially_succeeded') && item?.containerId) {
        navigate(`/containers/${item.containerId}?created=1`);
        return;
      }
      if (done.state === 'failed' || done.state === 'cancelled') void suggest(true);
    });
  };

  const suggested = suggestion.block?.[0];
  return (
    <section>
      <h1 tabIndex={-1}>New container</h1>
      <p class="lead">
        One container on the node of your choice, with a routable address you can ssh into. For many at once,
        use a <Link href="/batches">batch</Link>.
      </p>
      <LoadStatus loaded={nodes} what="the nodes" />
      <form class="form" onSubmit={submit} noValidate>
        <SelectField
          id="create-node"
          label="Node"
          value={node}
          onValue={setNode}
          options={(nodes.data ?? []).map((n) => ({
            value: n.name,
            label: `${n.name} (${n.health.state}${n.schedulable ? '' : ', not schedulable'})`,
          }))}
          error={fieldError(problem, 'node')}
        />
        <TextField
          id="create-name"
          label="Name"
          value={name}
          onValue={setName}
          required
          autoComplete="off"
          hint="Lower-case letters, digits, “.”, “_” and “-”."
          error={fieldError(problem, 'name')}
        />
        <TextField
          id="create-image"
          label="Image"
          value={image}
          onValue={setImage}
          list="create-images"
          required
          hint={
            images.data?.length
              ? `${images.data.length} images on ${node}; any name works if the node has it.`
              : undefined
          }
          error={fieldError(problem, 'image')}
        />
        <datalist id="create-images">
          {(images.data ?? [])
            .flatMap((i) => i.tags)
            .map((t) => (
              <option key={t} value={t} />
            ))}
        </datalist>
        <SuggestedAddressField
          id="create-ip"
          label="Address"
          value={ip}
          onValue={(v) => {
            ipEdited.current = true;
            setIp(v);
          }}
          hint={
            suggested ? (
              <>
                <span data-testid="suggested-ip">{suggested}</span> is the next free address of pool{' '}
                {nodeInfo?.experimentPool} (ipam’s suggestion; it is taken when the container is created).
                Empty: ipam picks.
              </>
            ) : (
              'Empty: ipam picks the next free address when the container is created.'
            )
          }
          error={fieldError(problem, 'ip')}
          onSuggest={() => void suggest(true)}
          suggestProblem={suggestion.problem}
        />
        <LimitFields
          idPrefix="create"
          value={limits}
          onValue={setLimits}
          problem={problem}
          cpu={{ step: 10, placeholder: '100', hint: '1000 = one core. Empty: the platform’s default.' }}
          memory={{ placeholder: '64', hint: 'Empty: the platform’s default.' }}
        />
        <SshKeysField
          id="create-keys"
          value={keys}
          onValue={setKeys}
          problem={problem}
          rows={3}
          placeholder="ssh-ed25519 AAAA… you@laptop"
          hint="One per line; put into /root/.ssh/authorized_keys."
        />
        <TextField
          id="create-command"
          label="Command"
          value={command}
          onValue={setCommand}
          autoComplete="off"
          placeholder="e.g. ssh-keygen -A && /usr/sbin/sshd -D -e"
          hint="Run with sh -c. Empty: a shell that waits, so the container stays up for ssh."
          error={fieldError(problem, 'command')}
        />
        <CheckboxGroup
          name="create-secondary"
          legend="Second interface"
          options={[{ value: 'yes', label: 'Attach eth1 from the secondary pool once it runs' }]}
          selected={secondary ? ['yes'] : []}
          onSelected={(values) => setSecondary(values.length > 0)}
          error={fieldError(problem, 'secondary')}
        />
        <ProblemBox problem={problem} shownFields={FIELDS} />
        {op ? (
          <div class="op-status" role="status">
            Operation <code>{op.id.slice(0, 8)}</code>: <StateBadge state={op.state} />
            {op.state === 'failed' || op.state === 'cancelled' ? (
              <p class="problem-detail">{operationError(op)}</p>
            ) : null}
          </div>
        ) : null}
        <div class="actions">
          <SubmitButton class="primary" busy={busy} busyLabel="Creating…" disabled={!node}>
            Create container
          </SubmitButton>
        </div>
      </form>
    </section>
  );
}

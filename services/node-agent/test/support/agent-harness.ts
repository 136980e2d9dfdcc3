import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { parseCloudEvent } from '@testbed/kit/src/bus/cloud-event';
import { createInProcessRecordStreams } from '@testbed/kit/src/bus/records/in-process-records';
import { createLogger } from '@testbed/kit/src/log/logger';
import { createNodeAgent, type NodeAgent, type NodeAgentOptions } from '../../src/agent';
import { decodeSampleBatch } from '../../src/wire/codec';
import {
  NODE_HEARTBEATS_TOPIC,
  nodeHeartbeat,
  STATS_SAMPLES_TOPIC,
  type NodeHeartbeat,
} from '../../src/wire/heartbeat';
import type { SampleBatch } from '../../src/wire/sample-batch';

export interface TestAgent {
  agent: NodeAgent;
  /** Every batch delivered so far, decoded, in order. */
  batches: SampleBatch[];
  heartbeats: NodeHeartbeat[];
  /** The agent's log lines, parsed. */
  logs: { msg: string; level: number; [k: string]: unknown }[];
  stop(): Promise<void>;
}

/**
 * An agent as the embedded host runs it: its sink is the kit's in-process record streams, whose
 * subscriber here decodes every batch (a batch that does not decode fails the test) and checks
 * every heartbeat against the wire schema.
 */
export async function startTestAgent(
  opts: Omit<NodeAgentOptions, 'sink' | 'logger' | 'docker'> & { socket: string; logLevel?: string },
): Promise<TestAgent> {
  const logs: TestAgent['logs'] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ name: 'node-agent-test', level: opts.logLevel ?? 'info', destination });
  const streams = createInProcessRecordStreams({ logger });
  const batches: SampleBatch[] = [];
  const heartbeats: NodeHeartbeat[] = [];
  streams.subscribe({
    group: 'test',
    topics: [STATS_SAMPLES_TOPIC, NODE_HEARTBEATS_TOPIC],
    async handle(records) {
      for (const r of records) {
        expect(r.key).toBe(opts.node);
        if (r.topic === STATS_SAMPLES_TOPIC) batches.push(decodeSampleBatch(r.value));
        else {
          const event = parseCloudEvent(r.value);
          expect(event).toMatchObject({ type: 'node.heartbeat', source: `node-agent/${opts.node}` });
          heartbeats.push(nodeHeartbeat.parse(event.data));
        }
      }
    },
  });
  streams.start();
  const agent = createNodeAgent({
    ...opts,
    sink: streams,
    logger,
    docker: new Docker({ socketPath: opts.socket }),
  });
  await agent.start();
  return {
    agent,
    batches,
    heartbeats,
    logs,
    async stop() {
      await agent.stop({ flushTimeoutMs: 2000 });
      await streams.stop();
    },
  };
}

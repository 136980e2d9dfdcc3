/** The standalone agent's environment: defaults, and every problem listed at once. */
import { ConfigError } from '@testbed/kit/src/config/load-config';
import { loadNodeAgentConfig } from '../src/config';

describe('the node agent configuration', () => {
  test('the defaults: the local socket, 3 s, 1200 batches, a heartbeat every 5 intervals, port 9464', () => {
    expect(
      loadNodeAgentConfig({ NODE_AGENT_NODE: 'node7', KAFKA_BROKERS: 'kafka:9092, kafka2:9092' }),
    ).toEqual({
      NODE_AGENT_NODE: 'node7',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
      KAFKA_BROKERS: ['kafka:9092', 'kafka2:9092'],
      NODE_AGENT_INTERVAL_MS: 3000,
      NODE_AGENT_BUFFER_BATCHES: 1200,
      NODE_AGENT_HEARTBEAT_EVERY: 5,
      NODE_AGENT_CGROUP_ROOT: '/sys/fs/cgroup',
      NODE_AGENT_PROC_ROOT: '/proc',
      NODE_AGENT_PORT: 9464,
      NODE_AGENT_LISTEN_HOST: '0.0.0.0',
      NODE_AGENT_FLUSH_TIMEOUT_MS: 5000,
      LOG_LEVEL: 'info',
    });
  });

  test('every problem at once, named by its variable', () => {
    let problems: string[] = [];
    try {
      loadNodeAgentConfig({
        DOCKER_HOST: 'ssh://node1',
        KAFKA_BROKERS: 'kafka',
        NODE_AGENT_INTERVAL_MS: '10',
        NODE_AGENT_BUFFER_BATCHES: '0',
        NODE_AGENT_CGROUP_ROOT: 'sys/fs/cgroup',
        NODE_AGENT_PORT: '70000',
        LOG_LEVEL: 'loud',
      });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(
      [
        'DOCKER_HOST',
        'KAFKA_BROKERS.0',
        'LOG_LEVEL',
        'NODE_AGENT_BUFFER_BATCHES',
        'NODE_AGENT_CGROUP_ROOT',
        'NODE_AGENT_INTERVAL_MS',
        'NODE_AGENT_NODE',
        'NODE_AGENT_PORT',
      ].sort(),
    );
  });
});

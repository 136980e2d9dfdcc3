import { createLogger } from '../../src/log/logger';
import { ConfigError } from '../../src/config/load-config';
import { createKubernetesLeaseElector, leaderElectorFromEnv } from '../../src/leader/kubernetes-lease';

// Choosing the elector needs no API server: nothing here is started.
const logger = createLogger({ name: 'leader-env-test', level: 'silent' });
const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', HOSTNAME: 'ipam-7d9f-abcde' };

describe('leaderElectorFromEnv', () => {
  it('always leads outside a cluster', () => {
    expect(leaderElectorFromEnv({}, logger).isLeader()).toBe(true);
  });

  it('always leads in a cluster when LEADER_ELECTION=off', () => {
    expect(leaderElectorFromEnv({ ...inCluster, LEADER_ELECTION: 'off' }, logger).isLeader()).toBe(true);
  });

  it('elects through a Lease in a cluster: not leading until started and elected', () => {
    const env = { ...inCluster, LEADER_LEASE_NAME: 'ipam-leader', POD_NAMESPACE: 'testbed' };
    expect(leaderElectorFromEnv(env, logger).isLeader()).toBe(false);
  });

  it('refuses a cluster configuration without the lease name and namespace, naming both', () => {
    let error: unknown;
    try {
      leaderElectorFromEnv(inCluster, logger);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('LEADER_LEASE_NAME');
    expect(problems).toContain('POD_NAMESPACE');
  });

  it('refuses an unknown LEADER_ELECTION value rather than guessing', () => {
    expect(() => leaderElectorFromEnv({ LEADER_ELECTION: 'false' }, logger)).toThrow(/LEADER_ELECTION/);
  });
});

describe('createKubernetesLeaseElector timings', () => {
  const base = { name: 'ipam-leader', namespace: 'testbed', identity: 'a', logger };

  it('refuses a renewal period that is not shorter than the lease', () => {
    expect(() =>
      createKubernetesLeaseElector({ ...base, leaseDurationSeconds: 2, renewEveryMs: 2000 }),
    ).toThrow(/renewEveryMs/);
  });

  it('refuses a fractional or zero lease duration', () => {
    expect(() =>
      createKubernetesLeaseElector({ ...base, leaseDurationSeconds: 0.5, renewEveryMs: 100 }),
    ).toThrow(/leaseDurationSeconds/);
  });
});

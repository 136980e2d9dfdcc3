export { alwaysLeader, type LeaderElector } from './leader';
export { startPeriodicTasks, type PeriodicTask } from './periodic';
export {
  createKubernetesLeaseElector,
  leaderElectorFromEnv,
  type KubernetesLeaseElectorOptions,
} from './kubernetes-lease';

export { alwaysLeader, type LeaderElector } from './leader';
export { startPeriodicTasks, type PeriodicTask } from './periodic';

export { systemClock, systemTimers, ManualClock, type Clock, type Timers } from './clock';

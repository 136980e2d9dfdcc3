/** The clock tests move by hand (the kit's): schedulers and expiries tested without sleeping. */
export { ManualClock } from '@testbed/kit';

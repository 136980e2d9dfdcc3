/**
 * The agent's wire formats, for their readers (the stats service): the sample batch, its codec
 * and the heartbeat. Apart from the package index, which also exports the agent itself and so
 * loads dockerode and the Docker client: a reader has no use for them.
 */
export { decodeSampleBatch, encodeSampleBatch, WireFormatError } from './codec';
export * from './sample-batch';
export * from './heartbeat';

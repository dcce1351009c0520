/** A proxy on N cores: one primary (one xDS stream, one identity) and N workers sharing the sockets. */
export { cpuLimitOf, defaultConcurrency } from './concurrency.js';
export { sumClusters } from './sum-clusters.js';
export { sumPrometheusText } from './sum-metrics.js';
export { type ConfigFeed, WorkerFeed } from './worker-feed.js';
export { WORKER_ENV, WorkerPool } from './worker-pool.js';
export { WorkerPrimary } from './worker-primary.js';

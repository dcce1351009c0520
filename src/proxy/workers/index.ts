/** A proxy on N cores: one primary (one xDS stream, one identity) and N workers sharing the sockets. */
export { cpuLimitOf, defaultConcurrency } from './concurrency.js';
export { ConfigDecoder, toWire } from './config-codec.js';
export { sumPrometheusText } from './sum-metrics.js';
export { type ConfigFeed, WorkerFeed, type WorkerHooks } from './worker-feed.js';
export { WORKER_ENV, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

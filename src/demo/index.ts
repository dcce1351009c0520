/** The local demo mesh behind `npm start`: demo apps, the orchestrator, the traffic generator. */
export { DEMO_SERVICE_PORT, type DemoApp, type DemoAppOptions, startDemoApp } from './app.js';
export { DEMO_PLAN, type DemoInstance, ENTRY_SERVICE, expectedEndpoints } from './demo-plan.js';
export { LatencyHistogram } from './latency-histogram.js';
export { type DemoOptions, type DemoResult, runDemo } from './run-demo.js';
export { DemoError, type StartedMesh, waitForMesh } from './start-mesh.js';
export { StartProgress } from './start-progress.js';
export { generateTraffic, type TrafficOptions } from './traffic.js';
export { formatTrafficStats, type Outcome, TrafficStats } from './traffic-stats.js';
export { demoPids, formatWhereTable, type WhereInfo } from './where-table.js';

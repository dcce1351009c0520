/** The local demo mesh behind `npm start`: demo apps, the orchestrator, the traffic generator. */
export { DEMO_SERVICE_PORT, type DemoApp, startDemoApp } from './app.js';
export { DEMO_GATEWAY, DEMO_PLAN, ENTRY_SERVICE } from './demo-plan.js';
export { LatencyHistogram } from './latency-histogram.js';
export { runDemo } from './run-demo.js';
export { DemoError, type StartedMesh, waitForMesh } from './start-mesh.js';
export { StartProgress } from './start-progress.js';

export { formatTrafficStats, TrafficStats } from './traffic-stats.js';
export { demoPids, formatWhereTable, type WhereInfo } from './where-table.js';

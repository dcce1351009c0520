/** The local demo mesh behind `npm start`. */
export { type DemoOptions, runDemo } from './run-demo.js';
export { formatSummary, type TrafficSummary } from './traffic.js';

/**
 * Command-line flags that put every listener of a Ferry process on a port the kernel picks
 * (the process prints which), so tests and benchmarks never collide on a fixed port. Shared
 * by the test harnesses and `npm run bench`.
 */

/** The admin, metrics and readiness listeners every `ferry proxy` and `ferry gateway` has. */
export const EPHEMERAL_ADMIN_PORTS: readonly string[] = [
  '--admin-port',
  '0',
  '--metrics-port',
  '0',
  '--ready-port',
  '0',
];

/** `ferry proxy` with every listener, the data listeners too, on an ephemeral port. */
export const EPHEMERAL_PORTS: readonly string[] = [
  '--outbound-port',
  '0',
  '--inbound-port',
  '0',
  ...EPHEMERAL_ADMIN_PORTS,
];

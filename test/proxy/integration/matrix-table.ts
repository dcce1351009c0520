/**
 * The protocol × policy matrix of issue 16, as data: every protocol path a sidecar carries
 * against every policy, each cell either a test (what it asserts, run by matrix.test.ts
 * against live processes) or "does not apply" with the reason. MATRIX.md beside this file is
 * rendered from this table (matrix.test.ts checks it; MATRIX_WRITE=1 rewrites it).
 */

export const ROWS = [
  {
    id: 'h1-fast',
    name: 'HTTP/1.1, fast path',
    how: '`ferry proxy --http1 fast`, node http client',
  },
  {
    id: 'h1-node',
    name: "HTTP/1.1, node's path",
    how: '`ferry proxy --http1 node`, node http client',
  },
  { id: 'h2', name: 'HTTP/2', how: 'h2c prior knowledge to the outbound port, HTTP/1.1 upstream' },
  { id: 'grpc', name: 'gRPC', how: 'h2c, `application/grpc`, a `grpc` service (HTTP/2 upstream)' },
  { id: 'websocket', name: 'WebSocket', how: 'HTTP/1.1 Upgrade through the outbound port (`ws`)' },
  { id: 'connect', name: 'CONNECT', how: 'CONNECT svc:port to the outbound port, HTTP inside' },
  { id: 'mirror', name: 'mirror copy', how: 'a route mirroring to a shadow service' },
  { id: 'tcp', name: 'TCP', how: '`--tcp-forward` to a `tcp` service, echo upstream' },
  {
    id: 'passthrough',
    name: 'passthrough',
    how: 'captured traffic to a destination outside the mesh',
  },
] as const;

export const COLUMNS = [
  { id: 'authz', name: 'authorization' },
  { id: 'ratelimit', name: 'rate limit' },
  { id: 'breaker', name: 'circuit breakers' },
  { id: 'outlier', name: 'outlier detection' },
  { id: 'retries', name: 'retries' },
  { id: 'timeout', name: 'timeouts' },
  { id: 'fault', name: 'fault injection' },
  { id: 'metrics', name: 'metrics' },
  { id: 'accesslog', name: 'access log' },
  { id: 'tracing', name: 'tracing' },
] as const;

export type RowId = (typeof ROWS)[number]['id'];
export type ColumnId = (typeof COLUMNS)[number]['id'];

/** A cell: a live test and what it asserts, or why the policy has no meaning there. */
type Cell = { readonly test: string } | { readonly na: string };

const test = (what: string): Cell => ({ test: what });
const na = (why: string): Cell => ({ na: why });

// Assertions shared by the request rows (each row's client and status vocabulary differ).
const HTTP_CELLS: Readonly<Record<ColumnId, Cell>> = {
  authz: test(
    'the server sidecar refuses a path a DENY rule names: 403 (gRPC: PERMISSION_DENIED), the app never sees it; its denial log names the rule and path; an allowed path passes',
  ),
  ratelimit: test(
    'a route limit of 1/minute: the first request passes, the second gets 429 RL (gRPC: UNAVAILABLE), counted in istio_requests_total with flag RL',
  ),
  breaker: test(
    'maxRequests 1: with one request held by the upstream, the next gets 503 UO at once (gRPC: UNAVAILABLE), counted with flag UO; the held one then succeeds',
  ),
  outlier: test(
    'an endpoint that refuses connections is ejected (ferry_proxy_endpoint_unhealthy reason outlier_ejected); the next requests all reach the good one',
  ),
  retries: test(
    'an upstream that fails the first attempt (503; gRPC: UNAVAILABLE): the client gets the second attempt’s success; the upstream saw 2 attempts with one request id',
  ),
  timeout: test(
    'a route timeout of 300 ms on an upstream that never answers: 504 UT (gRPC: UNAVAILABLE), counted with flag UT; the upstream request is cut',
  ),
  fault: test(
    'an abort fault: the injected status (gRPC: the injected grpc-status) with FI, counted with flag FI; the upstream never sees the request',
  ),
  metrics: test(
    'istio_requests_total{reporter=source} counts the exchange with its service, response code, protocol and flags',
  ),
  accesslog: test(
    'one JSON line with method, authority, path, response code, flags, upstream cluster and host, request id',
  ),
  tracing: test(
    'the client sidecar exports a CLIENT span in the caller’s trace with the status and upstream cluster',
  ),
};

const TUNNEL_RETRIES = na(
  'a tunnel’s bytes cannot be replayed: once the client has written into it, nothing can be sent again (Envoy does not retry upgrades or CONNECT either)',
);

export const MATRIX: Readonly<Record<RowId, Readonly<Record<ColumnId, Cell>>>> = {
  'h1-fast': HTTP_CELLS,
  'h1-node': HTTP_CELLS,
  h2: HTTP_CELLS,
  grpc: HTTP_CELLS,
  websocket: {
    ...HTTP_CELLS,
    authz: test(
      'the server sidecar refuses an upgrade to a path a DENY rule names: 403, the app never sees it; its denial log names the rule and path',
    ),
    ratelimit: test(
      'a route limit of 1/minute: the first upgrade gets 101, the second 429 RL, counted with flag RL',
    ),
    breaker: test(
      'maxRequests 1: while one WebSocket is open, a second upgrade gets 503 UO, counted with flag UO; after it closes, an upgrade succeeds',
    ),
    retries: TUNNEL_RETRIES,
    timeout: test(
      'a route timeout of 300 ms bounds the wait for the 101: an upstream that never answers the upgrade gives 504 UT, counted with flag UT',
    ),
    fault: test(
      'an abort fault refuses the upgrade with the injected status and FI, counted with flag FI',
    ),
    metrics: test(
      'istio_requests_total{reporter=source} counts the upgrade with response code 101',
    ),
    accesslog: test('one JSON line for the upgrade: response code 101, upstream cluster and host'),
    tracing: test('a CLIENT span in the caller’s trace for the upgrade, status 101'),
  },
  connect: {
    ...HTTP_CELLS,
    authz: test(
      'a tunnel to a service behind a server sidecar does not get around its authorization: a GET through it of a path a DENY rule names gets 403 from the server sidecar, whose denial log names the rule and path; an allowed path passes',
    ),
    ratelimit: test(
      'a route limit of 1/minute: the first CONNECT gets 200, the second 429 RL, counted with flag RL',
    ),
    breaker: test(
      'maxRequests 1: while one tunnel is open, a second CONNECT gets 503 UO, counted with flag UO; after it closes, a CONNECT succeeds',
    ),
    outlier: test(
      'an endpoint that refuses connections is ejected (reason outlier_ejected); the next tunnels all open to the good one',
    ),
    retries: TUNNEL_RETRIES,
    timeout: na(
      'CONNECT is answered 200 as soon as the upstream connection opens, and the tunnel then carries opaque bytes of unknown duration: a request timeout has nothing to bound (the connect timeout holds; idle tunnels are the TCP row’s)',
    ),
    fault: test(
      'an abort fault refuses the CONNECT with the injected status and FI, counted with flag FI',
    ),
    metrics: test(
      'istio_requests_total{reporter=source} counts the CONNECT with response code 200',
    ),
    accesslog: test(
      'one JSON line for the CONNECT: method CONNECT, response code 200, upstream cluster',
    ),
    tracing: test('a CLIENT span in the caller’s trace for the CONNECT, status 200'),
  },
  mirror: {
    authz: na(
      'authorization is enforced by the receiving sidecar: a copy arrives at the shadow’s sidecar as an ordinary request and is judged there like any other (the request rows); the calling side has no authorization to apply',
    ),
    ratelimit: test(
      'the route limit is applied before the copy is made: a request refused 429 RL is never copied',
    ),
    breaker: test(
      'the shadow cluster’s maxRequests 1: while one copy is held by the shadow, the next copy is not sent; both originals succeed',
    ),
    outlier: test(
      'copies feed the shadow cluster’s outlier detection: a shadow endpoint that refuses connections is ejected',
    ),
    retries: na(
      'a copy is fire and forget: its failure must cost the original nothing, so it is never retried (Envoy does not retry shadows)',
    ),
    timeout: test(
      'the route timeout bounds the copy: a shadow that never answers has its copy cut (the original succeeds)',
    ),
    fault: test('a request an abort fault refuses is never copied'),
    metrics: test(
      'ferry_proxy_mirror_requests_total{result=sent} counts the copy; istio_requests_total counts only the original',
    ),
    accesslog: test(
      'the original is logged once, upstream cluster the primary; the copy adds no line',
    ),
    tracing: test('the copy carries the original’s trace id to the shadow'),
  },
  tcp: {
    authz: test(
      'a server sidecar whose DENY rule matches every peer closes the connection before the app sees it; its denial log names the rule',
    ),
    ratelimit: na(
      'the mesh’s rate limits are Envoy’s HTTP local_ratelimit, counted in requests; a byte stream carries no requests',
    ),
    breaker: test(
      'maxConnections 1: while one connection is open, a second is closed without reaching the upstream; the first keeps working',
    ),
    outlier: test(
      'an endpoint that refuses connections is ejected (reason outlier_ejected); the next connections all reach the good one',
    ),
    retries: na(
      'a byte stream cannot be replayed: once the client’s bytes went upstream there is nothing to send again',
    ),
    timeout: test(
      'the idle timeout (--tcp-idle-timeout 1s) closes an idle connection and counts it (ferry_proxy_downstream_limits_total{limit=tcp_idle_timeout})',
    ),
    fault: na(
      'fault injection is an HTTP filter (an abort is a status, a delay is per request); a byte stream has neither',
    ),
    metrics: test(
      'istio_tcp_connections_opened/closed_total and istio_tcp_sent/received_bytes_total{reporter=source} count the connection and its exact bytes',
    ),
    accesslog: test(
      'one JSON line for the connection: protocol TCP, upstream cluster and host, exact bytes',
    ),
    tracing: na(
      'a byte stream carries no trace context (no headers) and Envoy’s tcp_proxy makes no spans',
    ),
  },
  passthrough: {
    authz: na(
      'a destination outside the mesh belongs to no service, so no authorization policy names it (the receiving side is not a sidecar)',
    ),
    ratelimit: na('rate limits are set per service or route; passthrough traffic has neither'),
    breaker: na('circuit breakers are set per service; passthrough traffic has no service'),
    outlier: na(
      'outlier detection ejects endpoints from a balanced set; passthrough goes to the one original destination, with nothing to balance',
    ),
    retries: na(
      'retries are set per route, and the bytes are passed on unparsed: there is no route',
    ),
    timeout: na(
      'timeouts are set per route; passthrough bytes are passed on unparsed (the TCP idle timeout is the TCP row’s)',
    ),
    fault: na(
      'faults are set per route and need an HTTP exchange; passthrough bytes are passed on unparsed',
    ),
    metrics: test(
      'istio_tcp_connections_opened/closed_total{reporter=source, destination_service_name=PassthroughCluster} count the connection, as Istio labels traffic leaving the mesh',
    ),
    accesslog: test(
      'one JSON line for the connection: protocol TCP, upstream cluster PassthroughCluster, the original destination',
    ),
    tracing: na('passthrough bytes are passed on unparsed: no headers carry a trace context'),
  },
};

/** Why a cell fails today, and the text its failure must contain (else it fails otherwise). */
export interface KnownGap {
  readonly cause: string;
  readonly failsWith: string;
}

/**
 * Cells that fail on today's main because the policy is not applied to that protocol, with
 * the cause. They still run with their full assertions: a gap that fails is reported as a
 * gap, and a gap that passes, or fails otherwise than listed, fails the suite until this
 * list is brought up to date.
 */
export const KNOWN_GAPS: Readonly<Record<string, KnownGap>> = {};

/**
 * Cells whose steps pass but the last (the refusal counted in istio_requests_total with its
 * service), with the cause; that step runs as a known gap, the rest of the cell as usual.
 */
export const KNOWN_STEP_GAPS: Readonly<Record<string, KnownGap>> = {};

/** Outcome of a cell in a run: a gap is a known-gap cell that failed as listed. */
export type CellResult = 'passed' | 'failed' | 'gap';

/** The cell of a row and column. */
export function cellOf(row: RowId, column: ColumnId): Cell {
  return MATRIX[row][column];
}

/**
 * The matrix as Markdown: one table of rows × columns (✓ tested, n/a does not apply, with the
 * outcome of the last run when `results` is given), then each cell's assertion or reason.
 */
export function renderMatrix(results?: ReadonlyMap<string, CellResult>): string {
  const mark = (row: RowId, column: ColumnId): string => {
    const cell = cellOf(row, column);
    if ('na' in cell) return 'n/a';
    const key = `${row}/${column}`;
    if (!results) return KNOWN_GAPS[key] ? 'gap' : KNOWN_STEP_GAPS[key] ? 'test, gap' : 'test';
    const r = results.get(key);
    if (r === 'gap') return KNOWN_STEP_GAPS[key] ? 'pass, gap' : 'gap';
    return r === undefined ? 'not run' : r === 'passed' ? 'pass' : 'FAIL';
  };
  const lines = [
    '# Protocol × policy matrix (issue 16)',
    '',
    'Generated from `test/proxy/integration/matrix-table.ts`; `matrix.test.ts` runs every',
    '`test` cell against live processes (a control plane, `ferry proxy` processes, real',
    'upstreams on 127.0.0.1) and checks this file (`MATRIX_WRITE=1` rewrites it).',
    '`test`: a live test; `gap`: a live test that fails on this commit because the policy is',
    'not applied to that protocol (the cause is listed; it fails the suite once it passes, until',
    'taken off the list); `test, gap`: a live test whose last step is such a gap; `n/a`: does not',
    'apply, for the reason given.',
    '',
    `| protocol | ${COLUMNS.map((c) => c.name).join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`,
    ...ROWS.map((r) => `| ${r.name} | ${COLUMNS.map((c) => mark(r.id, c.id)).join(' | ')} |`),
    '',
  ];
  for (const r of ROWS) {
    lines.push(`## ${r.name}`, '', `${r.how}.`, '');
    for (const c of COLUMNS) {
      const cell = cellOf(r.id, c.id);
      const gap = KNOWN_GAPS[`${r.id}/${c.id}`];
      const step = KNOWN_STEP_GAPS[`${r.id}/${c.id}`];
      const note = gap
        ? ` **Gap**: ${gap.cause}.`
        : step
          ? ` **Gap** (last step): ${step.cause}.`
          : '';
      lines.push(
        'na' in cell
          ? `- **${c.name}**: does not apply: ${cell.na}.`
          : `- **${c.name}**: ${cell.test}.${note}`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

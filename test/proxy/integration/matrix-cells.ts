/**
 * The matrix's cells as code: for each row and column whose cell in matrix-table.ts is a
 * test, the function that runs it against the live world. Request rows share one definition
 * per policy, parameterised by the row's client and status vocabulary.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { clusterName } from '../../support/mesh.js';
import {
  type Call,
  CLIENTS,
  echoThrough,
  jsonLines,
  type Outcome,
  readFile,
  sample,
  scrape,
  succeeded,
  type TcpConn,
  tcpOpen,
  waitForLine,
  waitUntil,
} from './matrix-clients.js';
import { lastStep } from './matrix-gaps.js';
import { OUTSIDE_PORT, type PassthroughWorld } from './matrix-passthrough.js';
import type { ColumnId, RowId } from './matrix-table.js';
import type { MatrixUpstream } from './matrix-upstreams.js';
import {
  authzServiceOf,
  FAULT_GRPC_STATUS,
  FAULT_STATUS,
  HTTP_PORT,
  REQUEST_ROWS,
  type RequestRow,
  TCP_PORT,
  type World,
} from './matrix-world.js';

export type CellTest = (w: World) => Promise<void>;

let sequence = 0;
/** A request id no other exchange of the run carries. */
const newId = () => `matrix-${process.pid}-${++sequence}`;
const newTrace = () => randomBytes(16).toString('hex');
const DENIAL = 'request denied by authorization policy';
/** The caller's span id in every traceparent sent. */
const PARENT = '00f067aa0ba902b7';
/** gRPC statuses of the refusals, as the HTTP-to-gRPC mapping gives them. */
const GRPC_OF: Readonly<Record<number, string>> = { 403: '7', 429: '14', 503: '14', 504: '14' };

/** A request row's view of the world: its client, sidecar process, upstream and log. */
function rowOf(w: World, row: RequestRow) {
  const proc = row === 'h1-node' ? w.node : w.fast;
  const client = CLIENTS[row];
  return {
    proc,
    upstream: row === 'grpc' ? w.grpc : w.http,
    log: readFile(row === 'h1-node' ? w.nodeLog : w.fastLog),
    service: row === 'h1-node' ? 'matrix-node' : 'matrix-fast',
    call: (policy: string, call?: Call) =>
      client(proc.ports.outbound, `${policy}-${row}:${HTTP_PORT}`, call),
  };
}

/** Asserts a local refusal in the row's terms (gRPC: a trailers-only status). */
function assertRefused(row: RequestRow, o: Outcome, status: number, flag: string): void {
  const got = { status: o.status, grpcStatus: o.grpcStatus, flags: o.flags };
  const want =
    row === 'grpc'
      ? { status: 200, grpcStatus: GRPC_OF[status] ?? '?', flags: flag }
      : { status, grpcStatus: '', flags: flag };
  assert.deepEqual(got, want, `${row}: refused with ${status} ${flag}`);
}

function assertSucceeded(row: RequestRow, o: Outcome, what: string): void {
  assert.ok(succeeded(row, o), `${what}: ${JSON.stringify(o)}`);
}

/** The 1 in `ferry_proxy_endpoint_unhealthy` of an ejected endpoint. */
function ejected(text: string, cluster: string, endpointPort: number): boolean {
  return (
    sample(text, 'ferry_proxy_endpoint_unhealthy', {
      cluster_name: cluster,
      endpoint: `127.0.0.1:${endpointPort}`,
      reason: 'outlier_ejected',
    }) === 1
  );
}

/** Attempts before an outlier cell gives up: half of them meet the failing endpoint. */
const EJECTION_ATTEMPTS = 20;

/**
 * Runs `attempt` (round robin over a good endpoint and one that refuses connections, which
 * is ejected at its first failure) until the sidecar reports that endpoint ejected.
 */
async function untilEjected(
  metricsPort: number,
  cluster: string,
  closed: number,
  attempt: () => Promise<string>,
): Promise<void> {
  const outcomes: string[] = [];
  for (let i = 0; i < EJECTION_ATTEMPTS; i++) {
    outcomes.push(await attempt());
    if (ejected(await scrape(metricsPort), cluster, closed)) return;
  }
  assert.fail(
    `127.0.0.1:${closed} not ejected from ${cluster} after ${EJECTION_ATTEMPTS} attempts: ${outcomes.join(', ')}`,
  );
}

/** Waits until istio_requests_total{reporter=source} counts one refusal of a service with its flag. */
async function countedWithFlag(
  metricsPort: number,
  service: string,
  flag: string,
  expected = 1,
): Promise<void> {
  const labels = { reporter: 'source', destination_service_name: service, response_flags: flag };
  let text = '';
  await waitUntil(`a ${flag} refusal of ${service} in istio_requests_total`, async () => {
    text = await scrape(metricsPort);
    return sample(text, 'istio_requests_total', labels) !== undefined;
  }).catch((err: Error) => {
    const series = text
      .split('\n')
      .filter((l) => l.startsWith('istio_requests_total{') && l.includes(`"${service}"`))
      .map((l) => /response_code="[^"]*".*response_flags="[^"]*"/.exec(l)?.[0]);
    throw new Error(`${err.message}; series: ${series.join(' | ') || 'none'}`);
  });
  assert.equal(sample(text, 'istio_requests_total', labels), expected);
}

function requestCells(row: RequestRow): Partial<Record<ColumnId, CellTest>> {
  const tunnel = row === 'websocket' || row === 'connect';
  const grpc = row === 'grpc';
  /** The one exchange the metrics, access log and tracing cells of the row look at. */
  let telemetry: Promise<{ id: string; trace: string }> | undefined;
  const telemetryCall = (w: World) => {
    telemetry ??= (async () => {
      const id = newId();
      const trace = newTrace();
      const o = await rowOf(w, row).call('mx', {
        path: '/telemetry',
        headers: { 'x-request-id': id, traceparent: `00-${trace}-${PARENT}-01` },
      });
      o.close();
      assertSucceeded(row, o, 'the telemetry exchange');
      return { id, trace };
    })();
    return telemetry;
  };
  const okStatus = row === 'websocket' ? 101 : 200;
  return {
    async authz(w) {
      const r = rowOf(w, row);
      const serverName = authzServiceOf(row);
      const server = w.servers.get(serverName)!;
      const authority = `${serverName}:${HTTP_PORT}`;
      const client = CLIENTS[row];
      const forbidden = `/forbidden/${row}`;
      const denied = await client(r.proc.ports.outbound, authority, { path: forbidden });
      denied.close();
      const allowed = await client(r.proc.ports.outbound, authority, { path: '/allowed' });
      allowed.close();
      if (row === 'connect') {
        // The tunnel opens; the server sidecar judges what comes through it.
        assert.deepEqual([denied.status, denied.inner], [200, 403], 'CONNECT, then a denied GET');
      } else assertRefused(row, denied, 403, '');
      assertSucceeded(row, allowed, 'an allowed path');
      assert.ok(!r.upstream.seen.some((s) => s.path === forbidden), 'the app saw the denied one');
      const line = await waitForLine(
        server.stdout,
        'the denial log line',
        (l) => l.msg === DENIAL && l.path === forbidden,
      );
      assert.equal(line.rule, `${serverName}.default/no-forbidden`);
      assert.equal(line.authority, authority);
    },

    async ratelimit(w) {
      const r = rowOf(w, row);
      const first = await r.call('rl', { path: '/limited' });
      first.close();
      assertSucceeded(row, first, 'the first request');
      const second = await r.call('rl', { path: '/limited' });
      second.close();
      assertRefused(row, second, 429, 'RL');
      await lastStep(`${row}/ratelimit`, () =>
        countedWithFlag(r.proc.ports.metrics, `rl-${row}`, 'RL'),
      );
    },

    async breaker(w) {
      const r = rowOf(w, row);
      if (tunnel) {
        const open = await r.call('cb');
        assertSucceeded(row, open, 'the first tunnel');
        const second = await r.call('cb');
        second.close();
        open.close();
        assertRefused(row, second, 503, 'UO');
        // Its slot comes back once the first tunnel has closed on both sides (until then,
        // a try is refused too).
        let refused = 1;
        await waitUntil('a tunnel to open again', async () => {
          const again = await r.call('cb');
          again.close();
          if (again.flags === 'UO') refused++;
          return succeeded(row, again);
        });
        await lastStep(`${row}/breaker`, () =>
          countedWithFlag(r.proc.ports.metrics, `cb-${row}`, 'UO', refused),
        );
        return;
      }
      const held = r.upstream.held;
      const first = r.call('cb', { path: '/hold' });
      await waitUntil('the first request to be held upstream', () => r.upstream.held === held + 1);
      const second = await r.call('cb', { path: '/hold' });
      r.upstream.release();
      assertRefused(row, second, 503, 'UO');
      assertSucceeded(row, await first, 'the held request');
      await lastStep(`${row}/breaker`, () =>
        countedWithFlag(r.proc.ports.metrics, `cb-${row}`, 'UO'),
      );
    },

    async outlier(w) {
      const r = rowOf(w, row);
      const cluster = clusterName(`od-${row}`, HTTP_PORT);
      await untilEjected(r.proc.ports.metrics, cluster, w.closed, async () => {
        const o = await r.call('od');
        o.close();
        return `${o.status} ${o.grpcStatus} ${o.flags}`.trim();
      });
      for (let i = 0; i < 4; i++) {
        const o = await r.call('od');
        o.close();
        assertSucceeded(row, o, `request ${i + 1} after the ejection`);
      }
    },

    async retries(w) {
      const r = rowOf(w, row);
      const id = newId();
      const o = await r.call('rt', { path: '/flaky', headers: { 'x-request-id': id } });
      assertSucceeded(row, o, 'the retried request');
      const attempts = r.upstream.seen.filter((s) => s.id === id).map((s) => s.attempt);
      assert.deepEqual(attempts, ['1', '2']);
    },

    async timeout(w) {
      const r = rowOf(w, row);
      const aborted = r.upstream.aborted;
      const o = await r.call('to', { path: '/hang' });
      o.close();
      assertRefused(row, o, 504, 'UT');
      await countedWithFlag(r.proc.ports.metrics, `to-${row}`, 'UT');
      await waitUntil('the upstream request to be let go', () => r.upstream.aborted > aborted);
    },

    async fault(w) {
      const r = rowOf(w, row);
      const id = newId();
      const o = await r.call('fi', { path: '/faulty', headers: { 'x-request-id': id } });
      o.close();
      const got = { status: o.status, grpcStatus: o.grpcStatus, flags: o.flags };
      const want = grpc
        ? { status: 200, grpcStatus: String(FAULT_GRPC_STATUS), flags: 'FI' }
        : { status: FAULT_STATUS, grpcStatus: '', flags: 'FI' };
      assert.deepEqual(got, want, `${row}: aborted with the injected status and FI`);
      await lastStep(`${row}/fault`, () =>
        countedWithFlag(r.proc.ports.metrics, `fi-${row}`, 'FI'),
      );
      assert.ok(!r.upstream.seen.some((s) => s.id === id), 'the upstream saw the aborted request');
    },

    async metrics(w) {
      const r = rowOf(w, row);
      await telemetryCall(w);
      const labels = {
        reporter: 'source',
        destination_service_name: `mx-${row}`,
        response_code: String(okStatus),
        request_protocol: grpc ? 'grpc' : 'http',
        response_flags: '-',
        ...(grpc ? { grpc_response_status: '0' } : {}),
      };
      let text = '';
      await waitUntil('the exchange in istio_requests_total', async () => {
        text = await scrape(r.proc.ports.metrics);
        return sample(text, 'istio_requests_total', labels) !== undefined;
      }).catch((err: Error) => {
        const series = text.split('\n').filter((l) => l.includes(`mx-${row}`));
        throw new Error(`${err.message}; series of mx-${row}: ${series.join(' | ') || 'none'}`);
      });
      assert.equal(sample(text, 'istio_requests_total', labels), 1);
    },

    async accesslog(w) {
      const r = rowOf(w, row);
      const { id } = await telemetryCall(w);
      const line = await waitForLine(r.log, 'the access log line', (l) => l.request_id === id);
      const method = row === 'connect' ? 'CONNECT' : grpc ? 'POST' : 'GET';
      assert.deepEqual(
        {
          method: line.method,
          authority: line.authority,
          response_code: line.response_code,
          response_flags: line.response_flags,
          upstream_cluster: line.upstream_cluster,
          upstream_host: line.upstream_host,
        },
        {
          method,
          authority: `mx-${row}:${HTTP_PORT}`,
          response_code: okStatus,
          response_flags: '-',
          upstream_cluster: clusterName(`mx-${row}`, HTTP_PORT),
          upstream_host: `127.0.0.1:${r.upstream.port}`,
        },
      );
      if (row !== 'connect') assert.equal(line.path, '/telemetry');
      if (grpc) assert.equal(line.grpc_status, '0');
    },

    async tracing(w) {
      const r = rowOf(w, row);
      const { trace } = await telemetryCall(w);
      // The sidecar's own CLIENT span is the caller's child (attempts are its children).
      const mine = () =>
        w.otlp.spans.find(
          (s) =>
            s.traceId === trace &&
            s.service === r.service &&
            s.kind === 3 &&
            s.parentSpanId === PARENT,
        );
      await waitUntil('the CLIENT span of the exchange', () => mine() !== undefined);
      const span = mine()!;
      assert.equal(span.attributes['http.response.status_code'], okStatus);
      assert.equal(span.attributes['ferry.upstream_cluster'], clusterName(`mx-${row}`, HTTP_PORT));
      if (grpc) assert.equal(span.attributes['rpc.grpc.status_code'], 0);
    },
  };
}

/** Sends one request through a mirrored route of the fast client. */
async function mirrored(
  w: World,
  service: string,
  id: string,
  extra: Record<string, string> = {},
  path = '/copied',
) {
  return CLIENTS['h1-fast'](w.fast.ports.outbound, `${service}:${HTTP_PORT}`, {
    path,
    headers: { 'x-request-id': id, ...extra },
  });
}

const copiesOf = (shadow: MatrixUpstream, id: string) => shadow.seen.filter((s) => s.id === id);

/**
 * A barrier for "never copied": a copy through another route to the shadow, sent after the
 * request under test was answered, has arrived; a copy of that request would have by then.
 */
async function barrier(w: World): Promise<void> {
  const id = newId();
  const o = await mirrored(w, 'mr-barrier', id);
  assert.equal(o.status, 200);
  await waitUntil('the barrier request’s copy', () => copiesOf(w.shadow, id).length === 1);
}

function mirrorCells(): Partial<Record<ColumnId, CellTest>> {
  let telemetry: Promise<{ id: string; trace: string; sentBefore: number }> | undefined;
  const telemetryCall = (w: World) => {
    telemetry ??= (async () => {
      const sentBefore =
        sample(await scrape(w.fast.ports.metrics), 'ferry_proxy_mirror_requests_total', {
          result: 'sent',
        }) ?? 0;
      const id = newId();
      const trace = newTrace();
      const o = await mirrored(w, 'mr-mx', id, { traceparent: `00-${trace}-${PARENT}-01` });
      assert.equal(o.status, 200);
      await waitUntil('the copy at the shadow', () => copiesOf(w.shadow, id).length === 1);
      return { id, trace, sentBefore };
    })();
    return telemetry;
  };
  return {
    async ratelimit(w) {
      const first = newId();
      const second = newId();
      assert.equal((await mirrored(w, 'mr-rl', first)).status, 200);
      const refused = await mirrored(w, 'mr-rl', second);
      assert.deepEqual([refused.status, refused.flags], [429, 'RL']);
      await barrier(w);
      assert.equal(copiesOf(w.shadow, first).length, 1, 'the admitted request was copied');
      assert.equal(copiesOf(w.shadow, second).length, 0, 'the refused request was copied');
    },

    async breaker(w) {
      const ids = [newId(), newId()];
      const held = w.shadow.held;
      assert.equal((await mirrored(w, 'mr-cb', ids[0], {}, '/hold')).status, 200);
      await waitUntil('the first copy to be held by the shadow', () => w.shadow.held === held + 1);
      const second = await mirrored(w, 'mr-cb', ids[1], {}, '/hold');
      assert.equal(second.status, 200, 'the original is unaffected');
      await barrier(w);
      const copies = ids.map((id) => copiesOf(w.shadow, id).length);
      w.shadow.release();
      assert.deepEqual(copies, [1, 0], 'copies of the two requests at the shadow');
    },

    async outlier(w) {
      const cluster = clusterName('shadow-od', HTTP_PORT);
      await untilEjected(w.fast.ports.metrics, cluster, w.closed, async () => {
        const o = await mirrored(w, 'mr-od', newId());
        assert.equal(o.status, 200, 'the original is unaffected');
        return String(o.status);
      });
      const ids = [newId(), newId(), newId(), newId()];
      for (const id of ids) assert.equal((await mirrored(w, 'mr-od', id)).status, 200);
      await waitUntil('every later copy at the good shadow endpoint', () =>
        ids.every((id) => copiesOf(w.shadow, id).length === 1),
      );
    },

    async timeout(w) {
      const aborted = w.shadow.aborted;
      const id = newId();
      const o = await CLIENTS['h1-fast'](w.fast.ports.outbound, `mr-to:${HTTP_PORT}`, {
        path: '/hang',
        headers: { 'x-request-id': id },
      });
      assert.equal(o.status, 200, 'the original is the primary’s answer');
      await waitUntil('the copy to reach the shadow', () => copiesOf(w.shadow, id).length === 1);
      await waitUntil('the unanswered copy to be cut', () => w.shadow.aborted > aborted);
    },

    async fault(w) {
      const id = newId();
      const o = await mirrored(w, 'mr-fi', id);
      assert.deepEqual([o.status, o.flags], [FAULT_STATUS, 'FI']);
      await barrier(w);
      assert.equal(copiesOf(w.shadow, id).length, 0, 'the aborted request was copied');
    },

    async metrics(w) {
      const { sentBefore } = await telemetryCall(w);
      let text = '';
      await waitUntil('the copy counted as sent', async () => {
        text = await scrape(w.fast.ports.metrics);
        const sent = sample(text, 'ferry_proxy_mirror_requests_total', { result: 'sent' }) ?? 0;
        return sent > sentBefore;
      });
      const requests = (name: string) =>
        sample(text, 'istio_requests_total', {
          reporter: 'source',
          destination_service_name: name,
        });
      assert.equal(requests('mr-mx'), 1, 'the original, counted once');
      assert.equal(requests('shadow'), undefined, 'copies are not requests of the mesh');
    },

    async accesslog(w) {
      const { id } = await telemetryCall(w);
      const read = readFile(w.fastLog);
      const line = await waitForLine(read, 'the original’s line', (l) => l.request_id === id);
      assert.equal(line.upstream_cluster, clusterName('mr-mx', HTTP_PORT));
      // A later exchange's line is written after anything the copy would have logged.
      const after = newId();
      await mirrored(w, 'mr-barrier', after);
      await waitForLine(read, 'a later line', (l) => l.request_id === after);
      assert.equal(jsonLines(read()).filter((l) => l.request_id === id).length, 1);
    },

    async tracing(w) {
      const { id, trace } = await telemetryCall(w);
      const copy = copiesOf(w.shadow, id)[0];
      assert.equal(copy.traceparent.split('-')[1], trace, 'the copy’s traceparent');
    },
  };
}

/** Opens TCP connections through a forward until one is refused or echoes. */
async function tcpTry(port: number): Promise<boolean> {
  const c = await tcpOpen(port);
  c.socket.write('probe');
  await waitUntil('an echo or a close', () => c.isClosed() || c.received() === 'probe');
  const echoed = c.received() === 'probe';
  c.socket.destroy();
  return echoed;
}

function tcpCells(): Partial<Record<ColumnId, CellTest>> {
  let telemetry: Promise<void> | undefined;
  const sentText = 'twelve bytes';
  const telemetryCall = (w: World) => {
    telemetry ??= (async () => {
      const c = await tcpOpen(w.forwards.get('tcp-mx')!);
      await echoThrough(c, sentText);
      c.socket.end();
      await c.closed;
    })();
    return telemetry;
  };
  return {
    async authz(w) {
      const server = w.servers.get('tcp-authz')!;
      const accepted = w.echo.accepted;
      const c = await tcpOpen(w.forwards.get('tcp-authz')!);
      c.socket.write('hello');
      await c.closed;
      assert.equal(c.received(), '', 'nothing came back');
      assert.equal(w.echo.accepted, accepted, 'the app saw no connection');
      const line = await waitForLine(server.stdout, 'the denial log line', (l) => l.msg === DENIAL);
      assert.equal(line.rule, 'tcp-authz.default/deny-all');
    },

    async breaker(w) {
      const port = w.forwards.get('tcp-cb')!;
      const first = await tcpOpen(port);
      await echoThrough(first, 'one');
      const accepted = w.echo.accepted;
      const second: TcpConn = await tcpOpen(port);
      second.socket.write('two');
      await waitUntil(
        'the second connection to be closed or echoed',
        () => second.isClosed() || second.received() !== '',
      );
      const refused = { closed: second.isClosed(), received: second.received() };
      second.socket.destroy();
      await echoThrough(first, ' still works');
      first.socket.destroy();
      assert.deepEqual(
        refused,
        { closed: true, received: '' },
        'the second connection was not refused',
      );
      assert.equal(w.echo.accepted, accepted, 'the second reached the upstream');
    },

    async outlier(w) {
      const port = w.forwards.get('tcp-od')!;
      const cluster = clusterName('tcp-od', TCP_PORT);
      await untilEjected(w.fast.ports.metrics, cluster, w.closed, async () =>
        (await tcpTry(port)) ? 'echoed' : 'closed',
      );
      for (let i = 0; i < 4; i++)
        assert.ok(await tcpTry(port), `connection ${i + 1} after the ejection`);
    },

    async timeout(w) {
      const metric = async () =>
        sample(await scrape(w.node.ports.metrics), 'ferry_proxy_downstream_limits_total', {
          limit: 'tcp_idle_timeout',
        }) ?? 0;
      const before = await metric();
      const c = await tcpOpen(w.forwards.get('tcp-idle')!);
      await echoThrough(c, 'then silence');
      await waitUntil('the idle connection to be closed', () => c.isClosed());
      await waitUntil(
        'the idle timeout to be counted',
        async () => (await metric()) === before + 1,
      );
    },

    async metrics(w) {
      await telemetryCall(w);
      const labels = { reporter: 'source', destination_service_name: 'tcp-mx' };
      const want = { opened: 1, closed: 1, sent: sentText.length, received: sentText.length };
      let got = {};
      await waitUntil('the connection in the TCP metrics', async () => {
        const text = await scrape(w.fast.ports.metrics);
        got = {
          opened: sample(text, 'istio_tcp_connections_opened_total', labels),
          closed: sample(text, 'istio_tcp_connections_closed_total', labels),
          sent: sample(text, 'istio_tcp_sent_bytes_total', labels),
          received: sample(text, 'istio_tcp_received_bytes_total', labels),
        };
        return JSON.stringify(got) === JSON.stringify(want);
      }).catch((err: Error) => {
        throw new Error(`${err.message}; got ${JSON.stringify(got)}`);
      });
    },

    async accesslog(w) {
      await telemetryCall(w);
      const cluster = clusterName('tcp-mx', TCP_PORT);
      const line = await waitForLine(
        readFile(w.fastLog),
        'the TCP access log line',
        (l) => l.upstream_cluster === cluster,
      );
      assert.deepEqual(
        {
          protocol: line.protocol,
          response_flags: line.response_flags,
          upstream_host: line.upstream_host,
          bytes_received: line.bytes_received,
          bytes_sent: line.bytes_sent,
        },
        {
          protocol: 'TCP',
          response_flags: '-',
          upstream_host: `127.0.0.1:${w.echo.port}`,
          bytes_received: sentText.length,
          bytes_sent: sentText.length,
        },
      );
    },
  };
}

/** The passthrough row, in its own world (`pod()`): one connection to a peer outside the mesh. */
function passthroughCells(pod: () => PassthroughWorld): Partial<Record<ColumnId, CellTest>> {
  let telemetry: Promise<{ payload: string; received: string }> | undefined;
  const telemetryCall = () => {
    telemetry ??= (async () => {
      const n = pod().network;
      const payload = `outside the mesh ${process.pid}`;
      const r = await pod().app('tcp', n.peerIp4, String(OUTSIDE_PORT), payload);
      // The peer's echo names itself and the address it saw: the pod's, through the sidecar.
      assert.equal(r.received, `outside ${n.podIp4} ${payload}`, JSON.stringify(r));
      return { payload, received: String(r.received) };
    })();
    return telemetry;
  };
  return {
    async metrics() {
      await telemetryCall();
      const labels = { reporter: 'source', destination_service_name: 'PassthroughCluster' };
      let text = '';
      await waitUntil('the connection in the TCP metrics', async () => {
        text = await pod().metrics();
        return sample(text, 'istio_tcp_connections_closed_total', labels) !== undefined;
      }).catch((err: Error) => {
        const series = text.split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened'));
        throw new Error(`${err.message}; series: ${series.join(' | ') || 'none'}`);
      });
      assert.equal(sample(text, 'istio_tcp_connections_opened_total', labels), 1);
      assert.equal(sample(text, 'istio_tcp_connections_closed_total', labels), 1);
    },

    async accesslog() {
      const { payload, received } = await telemetryCall();
      const n = pod().network;
      const line = await waitForLine(
        pod().sidecar.output,
        'the passthrough access log line',
        (l) => l.protocol === 'TCP' && l.upstream_host === `${n.peerIp4}:${OUTSIDE_PORT}`,
      );
      assert.deepEqual(
        {
          direction: line.direction,
          upstream_cluster: line.upstream_cluster,
          response_flags: line.response_flags,
          bytes_received: line.bytes_received,
          bytes_sent: line.bytes_sent,
        },
        {
          direction: 'outbound',
          upstream_cluster: 'PassthroughCluster',
          response_flags: '-',
          bytes_received: payload.length,
          bytes_sent: received.length,
        },
      );
    },
  };
}

/** Every test cell's code, by row and column (a cell without code fails as not written). */
export function cellTests(
  pod: () => PassthroughWorld,
): Readonly<Partial<Record<RowId, Partial<Record<ColumnId, CellTest>>>>> {
  const out: Partial<Record<RowId, Partial<Record<ColumnId, CellTest>>>> = {};
  for (const row of REQUEST_ROWS) out[row] = requestCells(row);
  out.mirror = mirrorCells();
  out.tcp = tcpCells();
  out.passthrough = passthroughCells(pod);
  return out;
}

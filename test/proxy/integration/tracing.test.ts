/**
 * Traces through two sidecars, exported over OTLP/HTTP (protobuf) to a real receiver:
 * client (with a traceparent) -> sidecar A (outbound: a CLIENT span, a child per attempt)
 * -> sidecar B (inbound: a SERVER span) -> app. The spans form one trace with the right
 * parents; a retried request has one child per attempt; B3 headers are read and written
 * when configured; an unreachable collector does not slow or break traffic, and what could
 * not be exported is counted.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { OtlpReceiver } from '../../support/otlp-receiver.js';
import { waitFor } from '../../support/wait-for.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('integration: OpenTelemetry traces through two sidecars', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let app: HttpUpstream;
  let receiver: OtlpReceiver;
  const seenHeaders: http.IncomingHttpHeaders[] = [];

  before(async () => {
    receiver = await OtlpReceiver.start();
    let flaky = 0;
    app = await startHttpUpstream('api-app', (_seen, req, res) => {
      seenHeaders.push({ ...req.headers, 'x-test-path': req.url });
      // The first request to /flaky fails; A's retry then succeeds.
      if (req.url === '/flaky' && flaky++ === 0) {
        res.writeHead(503).end('try again');
        return true;
      }
      res.end('ok');
      return true;
    });
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            retries: {
              attempts: 1,
              on: ['5xx'],
              retriableStatusCodes: [],
              backoffBaseMs: 5,
              backoffMaxMs: 10,
            },
          },
        }),
      ),
    );
    const tracing = { endpoint: receiver.url, scheduledDelayMs: 50 };
    b = await startSidecar(cp.xdsPort, { service: 'api', appPort: app.port, tracing });
    a = await startSidecar(cp.xdsPort, { service: 'web', tracing });
    await waitForHosts(a, clusterName('api', 8080), 1);
  });

  after(async () => {
    await Promise.all([a?.stop(0), b?.stop(0)]);
    await cp?.close();
    await app?.close();
    await receiver?.close();
  });

  it('one trace: client parent -> A CLIENT -> attempt -> B SERVER -> app, with mesh attributes', async () => {
    const r = await send(a.ports.outbound, {
      host: 'api:8080',
      path: '/hello',
      headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
    });
    assert.equal(r.status, 200);
    await waitFor(
      '3 spans of the trace',
      () => receiver.spans.filter((s) => s.traceId === TRACE).length >= 4,
    );
    const spans = receiver.spans.filter((s) => s.traceId === TRACE);
    const outbound = spans.find(
      (s) => s.service === 'web' && s.kind === 3 && s.parentSpanId === PARENT,
    );
    assert.ok(outbound, 'A’s request span is a child of the client’s span');
    const attempt = spans.find((s) => s.parentSpanId === outbound.spanId);
    assert.ok(attempt, 'an attempt span under it');
    const server = spans.find((s) => s.service === 'api' && s.kind === 2);
    assert.ok(server, 'B’s SERVER span');
    assert.equal(server.parentSpanId, attempt.spanId, 'B continues A’s attempt');
    // The request this test sent, not whatever reached the app last (Node 24 CI saw another).
    const appSaw = [...seenHeaders].reverse().find((h) => h['x-test-path'] === '/hello')
      ?.traceparent as string;
    assert.match(appSaw, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    console.log(
      `      ${spans.map((s) => `${s.service}:${s.name}${s.kind === 2 ? ' (server)' : ''}`).join(' -> ')}`,
    );
    assert.equal(outbound.attributes['http.request.method'], 'GET');
    assert.equal(outbound.attributes['http.response.status_code'], 200);
    assert.equal(outbound.attributes['ferry.upstream_cluster'], clusterName('api', 8080));
    assert.equal(outbound.attributes['ferry.retry_count'], 0);
  });

  it('a retried request has one child span per attempt, the first marked as an error', async () => {
    const trace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab';
    await send(a.ports.outbound, {
      host: 'api:8080',
      path: '/flaky',
      headers: { traceparent: `00-${trace}-${PARENT}-01` },
    });
    await waitFor('the retried trace', () =>
      receiver.spans.some((s) => s.traceId === trace && s.attributes['ferry.retry_count'] === 1),
    );
    const spans = receiver.spans.filter((s) => s.traceId === trace && s.service === 'web');
    const request = spans.find((s) => s.parentSpanId === PARENT)!;
    const attempts = spans.filter((s) => s.parentSpanId === request.spanId);
    assert.deepEqual(
      attempts.map((s) => [s.name, s.attributes['http.response.status_code'], s.statusCode]).sort(),
      [
        ['attempt 1', 503, 2],
        ['attempt 2', 200, 0],
      ],
    );
  });

  it('sampling follows the parent: a not-sampled traceparent produces no spans', async () => {
    const trace = 'cccccccccccccccccccccccccccccccc';
    await send(a.ports.outbound, {
      host: 'api:8080',
      path: '/quiet',
      headers: { traceparent: `00-${trace}-${PARENT}-00` },
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.spans.filter((s) => s.traceId === trace).length, 0);
  });
});

describe('integration: B3 propagation and a collector that is down', function () {
  this.timeout(30_000);
  it('reads and writes B3 single headers; with the collector down, traffic is unaffected and drops are counted', async () => {
    const b3Seen: string[] = [];
    const app = await startHttpUpstream('b3-app', (_seen, req, res) => {
      b3Seen.push(String(req.headers.b3 ?? ''));
      res.end('ok');
      return true;
    });
    const cp = await startControlPlane(mesh(service('api', 8080, 'http', [app.port])));
    // Nothing listens on port 9 (discard): every export fails.
    const a = await startSidecar(cp.xdsPort, {
      service: 'web',
      tracing: {
        endpoint: 'http://127.0.0.1:9/v1/traces',
        propagation: ['b3'],
        scheduledDelayMs: 50,
      },
    });
    try {
      await waitForHosts(a, clusterName('api', 8080), 1);
      const trace = '463ac35c9f6413ad48485a3953bb6124';
      const r = await send(a.ports.outbound, {
        host: 'api:8080',
        headers: { b3: `${trace}-0020000000000001-1` },
      });
      assert.equal(r.status, 200);
      assert.match(b3Seen[0], new RegExp(`^${trace}-[0-9a-f]{16}-1$`), 'B3 written upstream');
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () =>
          send(a.ports.outbound, { host: 'api:8080' }).then((x) => x.status),
        ),
      );
      assert.deepEqual([...new Set(statuses)], [200]);
      await waitFor(
        'failed exports to be counted',
        async () => {
          const text = await (
            await fetch(`http://127.0.0.1:${a.ports.metrics}/stats/prometheus`)
          ).text();
          return /^ferry_proxy_trace_spans_total\{result="dropped"\} [1-9]/m.test(text);
        },
        10_000,
        100,
      );
    } finally {
      await a.stop(0);
      await cp.close();
      await app.close();
    }
  });
});

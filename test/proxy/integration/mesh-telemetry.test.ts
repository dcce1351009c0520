/**
 * Telemetry set in the mesh file and pushed by the control plane, over real sockets: a
 * control plane watching a mesh file, two sidecars started without tracing flags, a real
 * OTLP/HTTP receiver and a real app.
 * - The mesh's collector gets spans from both sidecars, one trace; the mesh's propagation
 *   (b3) is what the app sees.
 * - Tracing is switched off and on again live; a request made while it was off has no spans;
 *   a new collector takes over live; OTLP over gRPC works the same.
 * - Access logs switched on for one service write JSON lines for it and not for the other,
 *   whose own --access-log flag the mesh file overrides.
 * - A bad telemetry block is refused with its file, line and field, and the last good
 *   configuration (tracing included) stays in force.
 * - TCP connections are logged too (tcp_proxy's access_log), on both sides.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { OtlpReceiver } from '../../support/otlp-receiver.js';
import { waitFor } from '../../support/wait-for.js';

interface MeshOptions {
  readonly tracing?: string;
  readonly accessLog?: string;
  readonly webAccessLog?: string;
}

/** The mesh file: api (with its app behind a sidecar) and web, and the telemetry asked for. */
function meshYaml(o: MeshOptions): string {
  const telemetry = [
    ...(o.tracing ? ['    tracing:', ...o.tracing.split('\n').map((l) => `      ${l}`)] : []),
    ...(o.accessLog ? [`    accessLog: ${o.accessLog}`] : []),
  ];
  return [
    ...(telemetry.length > 0 ? ['mesh:', '  telemetry:', ...telemetry] : []),
    'services:',
    '  - name: api',
    '    ports: [{ port: 8080, protocol: http }]',
    '  - name: web',
    '    ports: [{ port: 80, protocol: http }]',
    ...(o.webAccessLog ? ['    telemetry:', `      accessLog: ${o.webAccessLog}`] : []),
    '',
  ].join('\n');
}

/** The JSON lines of a log file (none when it does not exist yet). */
function logLines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('integration: telemetry from the mesh file, applied live by the sidecars', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let receiver: OtlpReceiver;
  let app: HttpUpstream;
  let cp: ControlPlane;
  let api: Sidecar;
  let web: Sidecar;
  let collector: string;
  const seen: http.IncomingHttpHeaders[] = [];

  /** Replaces the mesh file as an editor does (write, then rename over it). */
  async function writeMesh(o: MeshOptions): Promise<void> {
    const tmp = `${file}.tmp`;
    await writeFile(tmp, meshYaml(o));
    await rename(tmp, file);
  }

  /** Rewrites the mesh file and waits until both sidecars applied its telemetry. */
  async function pushMesh(o: MeshOptions): Promise<void> {
    // Every push here changes both sidecars' telemetry; a configuration is in force once the
    // telemetry it carries is.
    const telemetry = (s: Sidecar) => JSON.stringify(s.config?.telemetry);
    const before = [telemetry(api), telemetry(web)];
    await writeMesh(o);
    await waitFor('both sidecars to apply the new mesh file', () =>
      [api, web].every((s, i) => telemetry(s) !== before[i]),
    );
    // A new tracer starts asynchronously; the previous one serves until it runs.
    await Promise.all([api.telemetryApplied(), web.telemetryApplied()]);
  }

  async function call(trace: string, pathname = '/hello'): Promise<void> {
    const r = await send(web.ports.outbound, {
      host: 'api:8080',
      path: pathname,
      headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    });
    assert.equal(r.status, 200);
  }

  function spansOf(trace: string, at = receiver) {
    return at.spans.filter((s) => s.traceId === trace);
  }

  /** Waits until a collector has spans of the trace from both sidecars. */
  function spansFromBoth(trace: string, at = receiver): Promise<void> {
    return waitFor(`spans of ${trace} from both sidecars`, () => {
      const services = new Set(spansOf(trace, at).map((s) => s.service));
      return services.has('web') && services.has('api');
    });
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-mesh-telemetry-'));
    file = path.join(dir, 'mesh.yaml');
    receiver = await OtlpReceiver.start();
    collector = new URL(receiver.url).host;
    app = await startHttpUpstream('api-app', (_s, req, res) => {
      seen.push(req.headers);
      res.end('ok');
      return true;
    });
    await writeMesh({
      tracing: `collector: ${collector}\npropagation: [b3, w3c]`,
    });
    cp = await ControlPlane.start({
      configPath: file,
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      log: silentLogger(),
    });
    api = await startSidecar(cp.xdsPort, { service: 'api', appPort: app.port });
    web = await startSidecar(cp.xdsPort, {
      service: 'web',
      accessLog: path.join(dir, 'web-flag.jsonl'),
    });
    await waitForHosts(web, clusterName('api', 8080), 1);
  });

  after(async () => {
    await Promise.all([api?.stop(0), web?.stop(0)]);
    await cp?.close();
    await app?.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('both sidecars export the spans of one trace to the mesh’s collector, propagating b3', async () => {
    const trace = '11111111111111111111111111111111';
    await call(trace);
    await spansFromBoth(trace);
    const spans = spansOf(trace);
    const client = spans.find((s) => s.service === 'web' && s.kind === 3 && s.name !== 'attempt 1');
    const server = spans.find((s) => s.service === 'api' && s.kind === 2);
    assert.ok(client && server, 'a CLIENT span from web and a SERVER span from api');
    // b3 is written first; the app gets the trace in it, from api's sidecar.
    assert.match(String(seen.at(-1)?.b3), new RegExp(`^${trace}-[0-9a-f]{16}-1$`));
    console.log(
      `      ${spans.length} spans of the trace received: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')}`,
    );
  });

  it('tracing switched off and on again live: a request made while off has no spans', async () => {
    await pushMesh({});
    const quiet = '22222222222222222222222222222222';
    await call(quiet);
    await pushMesh({ tracing: `collector: ${collector}\nsampling: 100` });
    const loud = '33333333333333333333333333333333';
    await call(loud);
    await waitFor('spans of the request made after tracing came back', () =>
      spansOf(loud).some((s) => s.service === 'api'),
    );
    assert.equal(spansOf(quiet).length, 0);
    // Back to the default propagation (w3c only): no b3 header reaches the app.
    assert.equal(seen.at(-1)?.b3, undefined);
    assert.match(String(seen.at(-1)?.traceparent), new RegExp(`^00-${loud}-`));
  });

  it('a new collector takes over live: spans go to it, not to the old one', async () => {
    const second = await OtlpReceiver.start();
    try {
      await pushMesh({ tracing: `collector: ${new URL(second.url).host}` });
      const trace = '77777777777777777777777777777777';
      await call(trace);
      await spansFromBoth(trace, second);
      assert.equal(spansOf(trace).length, 0, 'nothing of it at the old collector');
    } finally {
      await pushMesh({ tracing: `collector: ${collector}` });
      await second.close();
    }
  });

  it('OTLP over gRPC: both sidecars export to a gRPC collector set in the mesh file', async () => {
    const grpcReceiver = await OtlpReceiver.startGrpc();
    try {
      await pushMesh({
        tracing: `collector: ${new URL(grpcReceiver.url).host}\nprotocol: grpc`,
      });
      const trace = '88888888888888888888888888888888';
      await call(trace);
      await spansFromBoth(trace, grpcReceiver);
      console.log(`      ${spansOf(trace, grpcReceiver).length} spans received over gRPC`);
    } finally {
      await pushMesh({ tracing: `collector: ${collector}` });
      await grpcReceiver.close();
    }
  });

  it('access logs on for one service: JSON lines for it, none for the other (the mesh overrides its flag)', async () => {
    const all = path.join(dir, 'mesh.jsonl');
    const flagLog = path.join(dir, 'web-flag.jsonl');
    // Before the mesh file says anything, web logs as its --access-log flag says.
    await call('44444444444444444444444444444444', '/flag');
    await waitFor('web’s flag log line', () => logLines(flagLog).some((l) => l.path === '/flag'));
    await pushMesh({
      tracing: `collector: ${collector}`,
      accessLog: `{ enabled: true, path: ${all} }`,
      webAccessLog: '{ enabled: false }',
    });
    const flagLines = logLines(flagLog).length;
    for (let i = 0; i < 5; i++) await call(`5555555555555555555555555555555${i}`, `/logged/${i}`);
    await waitFor(
      '5 lines from api’s sidecar',
      () => logLines(all).filter((l) => String(l.path).startsWith('/logged/')).length === 5,
    );
    const lines = logLines(all);
    assert.deepEqual(
      lines.map((l) => [l.direction, l.method, l.path, l.response_code, l.upstream_cluster]),
      [0, 1, 2, 3, 4].map((i) => ['inbound', 'GET', `/logged/${i}`, 200, `inbound|${app.port}||`]),
    );
    assert.match(String(lines[0].trace_id), /^5{31}0$/);
    // web's outbound requests were not logged: not to the mesh's file, not to its flag's.
    assert.equal(logLines(flagLog).length, flagLines);
    console.log(
      `      api's sidecar logged ${lines.length} lines; web's log stayed at ${flagLines} line(s)`,
    );
  });

  it('a bad telemetry block is refused with file, line and field; the last good config stays', async () => {
    const version = cp.cache.version;
    await writeMesh({ tracing: `collector: ${collector}\nsampling: 150` });
    const syncz = async () => {
      const r = await send(cp.httpPort, { host: 'cp', path: '/debug/syncz' });
      return JSON.parse(r.body) as { rejectedConfig: string | null };
    };
    let rejected: string | null = null;
    await waitFor('the control plane to reject the file', async () => {
      rejected = (await syncz()).rejectedConfig;
      return rejected !== null;
    });
    assert.match(
      String(rejected),
      /mesh\.yaml:5:17: mesh\.telemetry\.tracing\.sampling: must be at most 100; got 150/,
    );
    assert.equal(cp.cache.version, version, 'nothing new was published');
    const trace = '66666666666666666666666666666666';
    await call(trace);
    await waitFor('spans under the last good configuration', () =>
      spansOf(trace).some((s) => s.service === 'api'),
    );
  });
});

describe('integration: TCP access logs from the mesh file (tcp_proxy access_log)', function () {
  this.timeout(30_000);
  it('a TCP connection through two sidecars is logged on both sides, with its bytes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-tcp-log-'));
    const log = path.join(dir, 'tcp.jsonl');
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const base = mesh(service('db', 5432, 'tcp', []));
    const cp = await startControlPlane({
      ...base,
      mesh: { ...base.mesh, telemetry: { accessLog: { enabled: true, path: log } } },
    });
    const db = await startSidecar(cp.xdsPort, {
      service: 'db',
      appPort: (echo.address() as AddressInfo).port,
    });
    const client = await startSidecar(cp.xdsPort, {
      service: 'client',
      tcpForwards: [{ port: 0, target: 'db:5432' }],
    });
    try {
      await waitForHosts(client, clusterName('db', 5432), 1);
      const socket = net.connect(client.tcpForwardPorts[0], '127.0.0.1');
      socket.end('hello, db');
      let answer = '';
      for await (const chunk of socket) answer += chunk;
      assert.equal(answer, 'hello, db');
      await waitFor('a line from each side', () => logLines(log).length === 2);
      const lines = logLines(log).sort((a, b) =>
        String(a.direction).localeCompare(String(b.direction)),
      );
      assert.deepEqual(
        lines.map((l) => [
          l.direction,
          l.protocol,
          l.response_flags,
          l.bytes_received,
          l.bytes_sent,
        ]),
        [
          ['inbound', 'TCP', '-', 9, 9],
          ['outbound', 'TCP', '-', 9, 9],
        ],
      );
      assert.equal(lines[1].upstream_cluster, clusterName('db', 5432));
    } finally {
      await Promise.all([db.stop(0), client.stop(0)]);
      await cp.close();
      echo.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

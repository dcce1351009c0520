/**
 * Registration bound to identity (issue 12, "Anyone can join any service"), with real
 * processes: `ferry control-plane --ca-dir` and real `ferry proxy` sidecars. Three sidecars
 * announce `--service web`, each in front of an app of its own that counts what it
 * receives: one on the plaintext port with no credential, one with a valid token for
 * service account `evil`, one with a token for `web` (the account `web` admits by
 * default). Only the last becomes an endpoint, and a client sidecar's requests for web all
 * reach its app; the two others are served their configuration but refused as endpoints,
 * counted and listed with the reason. A credential that is bad, or that proves someone
 * other than the node says, ends the stream (in process, with a raw ADS client: the CLI
 * cannot even get a certificate for such a claim).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane } from '../../src/controlplane/index.js';
import {
  bearerCredentials,
  CA_FILES,
  controlPlaneCredentials,
  controlPlaneSpiffeId,
  loadOrCreateTokenKey,
  WorkloadTokens,
} from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createAdsClient, types } from '../../src/xds/index.js';
import { tempDir } from '../identity/support.js';
import { type CliRun, runCli } from '../support/cli-process.js';
import { getJson, send } from '../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../support/http-upstream.js';
import { mesh, service } from '../support/mesh.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { waitFor } from '../support/wait-for.js';
import { sidecarNode } from '../xds-client/support.js';

const MESH = `mesh: { trustDomain: cluster.local }
services:
  - name: web
    ports: [{ port: 8080, protocol: http }]
`;

const STARTED =
  /ferry control plane: xDS on [^ ]+:(\d+)(?:, xDS\+identity over TLS on [^ ]+:(\d+) as \S+)?, HTTP on http:\/\/[^/]+:(\d+)\//;

interface RunningControlPlane {
  readonly run: CliRun;
  readonly xdsPort: number;
  readonly securePort: number;
  readonly httpPort: number;
}

async function startControlPlaneProcess(
  dir: string,
  extra: readonly string[] = [],
): Promise<RunningControlPlane> {
  const config = path.join(dir, 'mesh.yaml');
  writeFileSync(config, MESH);
  const run = await runCli(
    [
      ...['control-plane', '--config', config, '--ca-dir', path.join(dir, 'ca')],
      ...['--xds-port', '0', '--http-port', '0', '--secure-port', '0'],
      ...['--warmup', '0', '--grace', '0', '--debounce', '20', '--log-level', 'warn'],
      ...extra,
    ],
    STARTED,
    process.env,
  );
  const m = STARTED.exec(run.stdout);
  if (!m) throw new Error(`control plane did not start (${run.code}): ${run.stderr}`);
  return { run, xdsPort: Number(m[1]), securePort: Number(m[2]), httpPort: Number(m[3]) };
}

/** Writes a token for default/<account> and returns the sidecar flags that use it. */
function mtlsFlags(dir: string, account: string): string[] {
  const caDir = path.join(dir, 'ca');
  const tokens = new WorkloadTokens(loadOrCreateTokenKey(caDir));
  mkdirSync(path.join(dir, 'tokens'), { recursive: true });
  const file = path.join(dir, 'tokens', `${account}.token`);
  writeFileSync(file, tokens.issue({ namespace: 'default', serviceAccount: account }, 3_600_000));
  return [
    ...['--ca-root', path.join(caDir, CA_FILES.root), '--token-file', file],
    ...['--service-account', account],
  ];
}

interface Registry {
  workloads: { id: string; service: string; serviceAccount: string }[];
  refusedRegistrations: {
    node: string;
    reason: string;
    transport: string;
    message: string;
    ended: boolean;
  }[];
}

describe('registration bound to identity (real control plane and sidecars)', function () {
  this.timeout(90_000);
  let tmp: ReturnType<typeof tempDir>;
  let cp: RunningControlPlane | undefined;
  const sidecars: SidecarProcess[] = [];
  const apps: HttpUpstream[] = [];

  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    await Promise.all(sidecars.splice(0).map((s) => s.kill()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
    cp?.run.kill();
    cp = undefined;
    tmp.remove();
  });

  async function app(name: string): Promise<HttpUpstream> {
    const a = await startHttpUpstream(name);
    apps.push(a);
    return a;
  }

  async function sidecar(args: string[]): Promise<SidecarProcess> {
    const s = await startSidecarProcess(args);
    sidecars.push(s);
    return s;
  }

  it('only a sidecar with a token for an admitted account becomes an endpoint and gets traffic', async () => {
    cp = await startControlPlaneProcess(tmp.dir);
    const { xdsPort, securePort, httpPort } = cp;
    const plainApp = await app('plain');
    const evilApp = await app('evil');
    const webApp = await app('web');

    // 1. The plaintext port, no credential at all.
    await sidecar([
      ...['--xds', `127.0.0.1:${xdsPort}`, '--service', 'web', '--id', 'intruder-plain'],
      ...['--app-port', String(plainApp.port)],
    ]);
    // 2. The secure port with a valid token, for service account evil.
    await sidecar([
      ...['--xds', `127.0.0.1:${securePort}`, '--service', 'web', '--id', 'intruder-evil'],
      ...mtlsFlags(tmp.dir, 'evil'),
      ...['--app-port', String(evilApp.port)],
    ]);
    // 3. The secure port with a token for web, which the service admits.
    await sidecar([
      ...['--xds', `127.0.0.1:${securePort}`, '--service', 'web', '--id', 'web-1'],
      ...mtlsFlags(tmp.dir, 'web'),
      ...['--app-port', String(webApp.port)],
    ]);
    const client = await sidecar([
      ...['--xds', `127.0.0.1:${securePort}`, '--service', 'client', '--id', 'client-1'],
      ...mtlsFlags(tmp.dir, 'client'),
    ]);

    await waitFor(
      'both intruders refused',
      async () => {
        const r = await getJson<Registry>(httpPort, '/debug/registry');
        const nodes = new Set(r.refusedRegistrations.map((x) => x.node));
        return nodes.has('intruder-plain') && nodes.has('intruder-evil');
      },
      20_000,
      50,
    );
    const registry = await getJson<Registry>(httpPort, '/debug/registry');
    assert.deepEqual(registry.workloads.map((w) => w.id).sort(), ['client-1', 'web-1']);
    const plain = registry.refusedRegistrations.find((x) => x.node === 'intruder-plain');
    assert.equal(plain?.reason, 'no_credential');
    assert.equal(plain?.transport, 'plaintext');
    assert.equal(plain?.ended, false, 'served, not an endpoint');
    const evil = registry.refusedRegistrations.find((x) => x.node === 'intruder-evil');
    assert.equal(evil?.reason, 'not_admitted');
    assert.equal(evil?.transport, 'tls');
    assert.equal(evil?.ended, false);
    assert.match(
      evil?.message ?? '',
      /service web\.default admits service accounts \[web\], not evil/,
    );

    // Their streams are served, and say why they are not endpoints.
    const syncz = await getJson<{ clients: { nodeId: string; registrationRefused?: string }[] }>(
      httpPort,
      '/debug/syncz',
    );
    const refusedOf = (id: string) =>
      syncz.clients.find((c) => c.nodeId === id)?.registrationRefused;
    assert.match(refusedOf('intruder-evil') ?? '', /^not_admitted: /);
    assert.match(refusedOf('intruder-plain') ?? '', /^no_credential: /);
    assert.equal(refusedOf('web-1'), undefined);

    // Every request for web reaches the admitted sidecar's app, over mutual TLS.
    await waitFor(
      'web reachable through the client sidecar',
      () =>
        send(client.ports.outbound, { host: 'web:8080', path: '/warm' }).then(
          (r) => r.status === 200,
          () => false,
        ),
      20_000,
      50,
    );
    for (let i = 0; i < 40; i++) {
      const r = await send(client.ports.outbound, { host: 'web:8080', path: `/r${i}` });
      assert.equal(r.status, 200, r.body);
    }
    assert.equal(plainApp.seen.length, 0, 'the plaintext intruder received nothing');
    assert.equal(evilApp.seen.length, 0, 'the evil intruder received nothing');
    assert.equal(webApp.seen.filter((s) => s.url.startsWith('/r')).length, 40);

    const metrics = await send(httpPort, { path: '/metrics' });
    assert.match(
      metrics.body,
      /ferry_xds_registrations_refused_total\{reason="no_credential"\} [1-9]/,
    );
    assert.match(
      metrics.body,
      /ferry_xds_registrations_refused_total\{reason="not_admitted"\} [1-9]/,
    );
  });

  it('a bad credential ends the stream UNAUTHENTICATED; one proving another account than announced, PERMISSION_DENIED', async () => {
    const control = await ControlPlane.start({
      config: mesh(service('web', 8080, 'http', [])),
      caDir: path.join(tmp.dir, 'ca'),
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      warmupMs: 0,
      log: silentLogger(),
    });
    try {
      const root = readFileSync(path.join(tmp.dir, 'ca', CA_FILES.root), 'utf8');
      const evilToken = control.identity?.tokens?.issue(
        { namespace: 'default', serviceAccount: 'evil' },
        3_600_000,
      );
      const ask = async (token: string) => {
        const creds = grpc.credentials.combineChannelCredentials(
          controlPlaneCredentials(root, controlPlaneSpiffeId('cluster.local')),
          bearerCredentials(() => token),
        );
        const client = createAdsClient(`127.0.0.1:${control.securePort}`, creds);
        const call = client.StreamAggregatedResources();
        try {
          return await new Promise<grpc.ServiceError | 'served'>((resolve) => {
            call.on('data', () => resolve('served'));
            call.on('error', (e: grpc.ServiceError) => resolve(e));
            // sidecarNode announces web with service account web.
            call.write({ node: sidecarNode('liar'), type_url: types.CLUSTER });
          });
        } finally {
          call.cancel();
          client.close();
        }
      };
      const liar = await ask(evilToken ?? '');
      assert.notEqual(liar, 'served');
      if (liar !== 'served') {
        assert.equal(liar.code, grpc.status.PERMISSION_DENIED);
        assert.match(liar.details, /credential proves default\/evil/);
      }
      const forged = await ask('not-a-token');
      assert.notEqual(forged, 'served');
      if (forged !== 'served') assert.equal(forged.code, grpc.status.UNAUTHENTICATED);
      assert.deepEqual(
        control.ads.refusedRegistrations().map((r) => [r.reason, r.ended]),
        [
          ['invalid_credential', true],
          ['identity_mismatch', true],
        ],
      );
      assert.equal(control.registry.workloads().length, 0);
    } finally {
      await control.close();
    }
  });

  it('--allow-plaintext-registration opens the plaintext port, and says so loudly', async () => {
    cp = await startControlPlaneProcess(tmp.dir, ['--allow-plaintext-registration']);
    assert.match(cp.run.stderr + cp.run.stdout, /INSECURE: --allow-plaintext-registration is on/);
    const webApp = await app('web');
    await sidecar([
      ...['--xds', `127.0.0.1:${cp.xdsPort}`, '--service', 'web', '--id', 'dev-web'],
      ...['--app-port', String(webApp.port)],
    ]);
    const registry = await getJson<Registry>(cp.httpPort, '/debug/registry');
    assert.deepEqual(
      registry.workloads.map((w) => w.id),
      ['dev-web'],
    );
    assert.deepEqual(registry.refusedRegistrations, []);
  });
});

/**
 * The control plane driving a real proxyless gRPC client (grpc-js-xds, in its own
 * process) from a watched mesh file, with three real gRPC backends.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { type EchoBackend, startEchoBackend } from '../support/echo-grpc.js';

interface CallLine {
  target: string;
  backend: string | null;
  code: number;
  error?: string;
  at: number;
}

function meshYaml(ports: number[]): string {
  return `mesh:
  trustDomain: cluster.local
services:
  - name: echo
    namespace: default
    ports:
      - { port: 50051, protocol: grpc }
    endpoints:
${ports.map((p, i) => `      - { address: 127.0.0.1, port: ${p}, labels: { version: v${i + 1} }, zone: a }`).join('\n')}
    policy:
      loadBalancer: round_robin
      timeout: 2s
`;
}

async function replaceFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

const CLIENT = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../support/proxyless-client.js',
);

describe('proxyless gRPC client (grpc-js-xds) against the control plane', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let backends: EchoBackend[];
  let cp: ControlPlane;
  let child: ChildProcess | undefined;
  const lines: CallLine[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-proxyless-'));
    file = path.join(dir, 'mesh.yaml');
    backends = await Promise.all(['a', 'b', 'c'].map((n) => startEchoBackend(n)));
    await writeFile(file, meshYaml(backends.map((b) => b.port)));
    cp = await ControlPlane.start({
      configPath: file,
      xdsPort: 0,
      httpPort: 0,
      log: silentLogger(),
    });
  });

  after(async () => {
    child?.stdin?.end();
    child?.kill();
    await cp?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });

  function startClient(targets: string[]): void {
    const bootstrap = {
      xds_servers: [
        {
          server_uri: `127.0.0.1:${cp.xdsPort}`,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: 'proxyless-test', locality: {} },
    };
    child = spawn(process.execPath, [CLIENT, ...targets], {
      env: {
        ...process.env,
        GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap),
        CALL_INTERVAL_MS: '5',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: child.stdout! }).on('line', (l) =>
      lines.push(JSON.parse(l) as CallLine),
    );
  }

  async function waitFor(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('resolves xds:///echo and its longer names, round-robins, follows edits and ignores broken ones', async () => {
    const targets = [
      'xds:///echo',
      'xds:///echo.default',
      'xds:///echo.default.svc.cluster.local:50051',
    ];
    startClient(targets);
    await waitFor('90 successful calls', () => lines.filter((l) => l.code === 0).length >= 90);

    // Every alias resolves, and round robin spreads calls evenly over the three backends.
    for (const t of targets)
      assert.ok(
        lines.some((l) => l.target === t && l.code === 0),
        `${t} resolves`,
      );
    const first = lines.filter((l) => l.target === 'xds:///echo').slice(0, 30);
    const counts = new Map<string, number>();
    for (const l of first)
      counts.set(l.backend ?? 'error', (counts.get(l.backend ?? 'error') ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c'], JSON.stringify([...counts]));
    for (const [b, n] of counts) assert.ok(n >= 9 && n <= 11, `backend ${b} got ${n} of 30 calls`);

    // Drop backend c from the file: within a second the client stops using it, with no error.
    const editAt = Date.now();
    await replaceFile(file, meshYaml([backends[0].port, backends[1].port]));
    await waitFor('a call after the edit settles', () => lines.some((l) => l.at > editAt + 1500));
    const afterSettle = lines.filter((l) => l.at > editAt + 1000);
    assert.ok(afterSettle.length > 20);
    assert.ok(
      !afterSettle.some((l) => l.backend === 'c'),
      'backend c is no longer used 1 s after the edit',
    );
    const lastC = Math.max(...lines.filter((l) => l.backend === 'c').map((l) => l.at));
    process.stdout.write(
      `      (endpoint removal applied by the client ${Math.max(0, lastC - editAt)} ms after the edit)\n`,
    );

    // A broken edit changes nothing: calls keep going to a and b.
    const brokenAt = Date.now();
    await replaceFile(file, `${meshYaml([backends[0].port])}    bogusField: 1\n`);
    await waitFor('1.5 s of calls after the broken edit', () =>
      lines.some((l) => l.at > brokenAt + 1500),
    );
    const afterBroken = lines.filter((l) => l.at > brokenAt && l.target === 'xds:///echo');
    const used = new Set(afterBroken.map((l) => l.backend));
    assert.deepEqual([...used].sort(), ['a', 'b'], 'both remaining backends still used');
    const syncz = (await (await fetch(`http://127.0.0.1:${cp.httpPort}/debug/syncz`)).json()) as {
      rejectedConfig: string | null;
    };
    assert.match(String(syncz.rejectedConfig), /mesh\.yaml:\d+/);

    assert.deepEqual(
      lines.filter((l) => l.code !== 0),
      [],
      'no call failed at any point',
    );
  });
});

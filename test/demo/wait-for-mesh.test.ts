/**
 * Regression (issue 15: "45 s on a loaded machine, first summary 80.0% ok ... failed: 502
 * x8"): the demo started its traffic once a time limit ran out ("sending traffic anyway"),
 * after one request had answered through whichever reviews version the 80/20 split picked,
 * so a frontend whose sidecar could not reach reviews v2 yet failed the 20% sent there.
 * Now traffic waits until the entry has answered through every reviews version, and a mesh
 * that does not come together stops the demo with the reason instead.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEMO_PLAN,
  DemoError,
  type StartedMesh,
  StartProgress,
  waitForMesh,
} from '../../src/demo/index.js';

async function serve(handler: http.RequestListener): Promise<{ port: number; close(): void }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A sidecar admin port whose /clusters shows every demo instance healthy. */
function seesEverything(_req: http.IncomingMessage, res: http.ServerResponse): void {
  const hosts = (n: number) => Array.from({ length: n }, () => ({ healthy: true }));
  res.end(
    JSON.stringify({
      clusters: [
        { name: 'outbound|8080||catalog.default.svc.cluster.local', hosts: hosts(1) },
        { name: 'outbound|8080||reviews.default.svc.cluster.local', hosts: hosts(2) },
        { name: 'outbound|8080||frontend.default.svc.cluster.local', hosts: hosts(1) },
      ],
    }),
  );
}

describe('waiting for the demo mesh', () => {
  let admin: Awaited<ReturnType<typeof serve>>;
  let mesh: StartedMesh;

  before(async () => {
    admin = await serve(seesEverything);
    mesh = {
      instances: [{ nodeId: 'frontend-v1', sidecar: { ports: { admin: admin.port } } }],
    } as unknown as StartedMesh;
  });
  after(() => admin.close());

  /** The loadgen sidecar's outbound port: frontend's answers, by reviews version. */
  async function entry(versionOf: (n: number) => string | undefined) {
    let n = 0;
    const server = await serve((_req, res) => {
      const version = versionOf(++n);
      if (version === undefined) res.writeHead(502).end('{}');
      else res.end(JSON.stringify({ reviews: { version } }));
    });
    return { server, calls: () => n, outbound: new URL(`http://127.0.0.1:${server.port}`) };
  }

  it('holds the traffic until frontend has answered through reviews v1 and v2', async () => {
    // v1 answers at once; v2's path fails at first (its subset not pushed yet), then works.
    const e = await entry((n) => (n % 5 === 0 && n >= 10 ? 'v2' : n % 5 === 0 ? undefined : 'v1'));
    const lines: string[] = [];
    const progress = new StartProgress((l) => lines.push(l));
    try {
      await waitForMesh(
        mesh,
        { outbound: e.outbound, authority: 'frontend:8080', name: 'gateway default/edge' },
        { plan: DEMO_PLAN, timeoutMs: 30_000, signal: new AbortController().signal, progress },
      );
      assert.ok(e.calls() >= 10, `returned after ${e.calls()} requests, before v2 answered`);
      assert.match(
        lines.at(-1) ?? '',
        /^ {2}gateway default\/edge answered through reviews v1 and v2: the mesh is ready \([\d.]+ s\)$/,
      );
      assert.ok(
        lines.includes(
          'waiting for every sidecar to see every instance (catalog x1, reviews x2, frontend x1) ...',
        ),
      );
    } finally {
      progress.close();
      e.server.close();
    }
  });

  it('never sends traffic "anyway": a version that never answers stops the demo with the reason', async () => {
    const e = await entry(() => 'v1');
    const progress = new StartProgress(() => {});
    try {
      await assert.rejects(
        waitForMesh(
          mesh,
          { outbound: e.outbound, authority: 'frontend:8080', name: 'gateway default/edge' },
          { plan: DEMO_PLAN, timeoutMs: 300, signal: new AbortController().signal, progress },
        ),
        (err: unknown) =>
          err instanceof DemoError &&
          /^gateway default\/edge did not answer through reviews v2 within 0\.3 s$/.test(
            err.message,
          ),
      );
    } finally {
      progress.close();
      e.server.close();
    }
  });
});

describe('start-up progress', () => {
  it('prints each step as it completes and, every so often, what it still waits for', async () => {
    const lines: string[] = [];
    let t = 0;
    const progress = new StartProgress(
      (l) => lines.push(l),
      () => t,
      20,
    );
    try {
      progress.stage('starting');
      progress.begin('sidecar a');
      progress.begin('sidecar b');
      t = 1500;
      progress.done('sidecar a', 'sidecar a ready');
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (lines.some((l) => l.startsWith('  still waiting'))) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
      assert.deepEqual(lines.slice(0, 3), [
        'starting ...',
        '  sidecar a ready (1.5 s)',
        '  still waiting for: sidecar b (1.5 s)',
      ]);
    } finally {
      progress.close();
    }
  });
});

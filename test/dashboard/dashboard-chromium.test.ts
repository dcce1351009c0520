/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`, which CI
 * installs), driven over the DevTools protocol. The page loads from the control plane,
 * shows the services and the edges between them, and its numbers move while the sidecars'
 * counters do. https://chromedevtools.github.io/devtools-protocol/
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { waitFor } from '../support/wait-for.js';
import { DashboardHarness, HARNESS_MESH } from './dashboard-harness.js';

const CHROMIUM = '/usr/bin/chromium';

/** A DevTools protocol session on one page. */
class Page {
  private id = 0;
  private readonly pending = new Map<
    number,
    (r: { result?: unknown; error?: { message: string } }) => void
  >();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg);
    });
  }

  static async connect(url: string): Promise<Page> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Page(ws);
  }

  send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => {
        this.pending.delete(id);
        if (r.error) reject(new Error(`${method}: ${r.error.message}`));
        else resolve(r.result);
      });
    });
  }

  /** Evaluates an expression in the page; its JSON-able value. */
  async eval<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true })) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  close(): void {
    this.ws.close();
  }
}

interface EdgeView {
  source: string;
  destination: string;
  /** The numbers line of the edge's label, and its first line (protocol, mTLS). */
  label: string;
  head: string;
  /** data-mtls: the mTLS share, or "none". */
  mtls: string;
}

const EDGES = `[...document.querySelectorAll('.edge')].map((e) => ({
  source: e.dataset.source, destination: e.dataset.destination,
  label: e.querySelector('.edge-label tspan:last-child')?.textContent ?? '',
  head: e.querySelector('.edge-label tspan')?.textContent ?? '',
  mtls: e.dataset.mtls }))`;

describe('dashboard in headless Chromium', function () {
  this.timeout(60_000);
  const h = new DashboardHarness();
  let browser: ChildProcess | undefined;
  let profile = '';
  let page: Page | undefined;
  let pump: NodeJS.Timeout | undefined;
  let failEvery = 0;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
      console.log(`      skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
      this.skip();
    }
    await h.start(250);
    await h.ackAll();
    profile = mkdtempSync(path.join(tmpdir(), 'ferry-chromium-'));
    const child = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-extensions',
        '--remote-debugging-address=127.0.0.1',
        '--remote-debugging-port=0',
        `--user-data-dir=${profile}`,
        `${h.url}/?refresh=300`,
      ],
      // Its own process group, so that stopping it stops its helper processes too.
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    browser = child;
    // Chromium says where its DevTools endpoint listens on stderr.
    const devtools = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`chromium did not start: ${err}`)), 30_000);
      child.stderr?.on('data', (d) => {
        err += d;
        const m = /DevTools listening on ws:\/\/([^/]+)\//.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`chromium exited with ${code}: ${err}`)));
    });
    let wsUrl = '';
    await waitFor(
      'the dashboard page target',
      async () => {
        const list = (await (await fetch(`http://${devtools}/json/list`)).json()) as Array<{
          type: string;
          url: string;
          webSocketDebuggerUrl: string;
        }>;
        wsUrl =
          list.find((t) => t.type === 'page' && t.url.startsWith(h.url))?.webSocketDebuggerUrl ??
          '';
        return wsUrl !== '';
      },
      20_000,
      100,
    );
    page = await Page.connect(wsUrl);
  });

  after(async () => {
    if (pump) clearInterval(pump);
    page?.close();
    if (browser && browser.exitCode === null) {
      const exited = new Promise((r) => browser?.once('exit', r));
      process.kill(-(browser.pid as number), 'SIGTERM');
      await exited;
    }
    // A helper process may still be flushing into the profile for a moment after the browser
    // exits (ENOTEMPTY); rmSync retries that.
    if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    await h.close();
  });

  it('loads and shows the services and every sidecar with its sync state', async () => {
    const p = page as Page;
    await waitFor(
      'three services drawn',
      async () => (await p.eval<number>(`document.querySelectorAll('.node').length`)) === 3,
      20_000,
      100,
    );
    const nodes = await p.eval<string[]>(
      `[...document.querySelectorAll('.node')].map((n) => n.dataset.id).sort()`,
    );
    assert.deepEqual(nodes, ['catalog.default', 'frontend.default', 'reviews.default']);
    await waitFor(
      'sidecars listed',
      async () =>
        (await p.eval<string>(`document.getElementById('sidecars-table').textContent`)).includes(
          'reviews-v2-pod',
        ),
      10_000,
      100,
    );
    const sidecars = await p.eval<string>(`document.getElementById('sidecars-table').textContent`);
    for (const id of ['catalog-v1-pod', 'frontend-v1-pod', 'reviews-v1-pod', 'reviews-v2-pod']) {
      assert.ok(sidecars.includes(id), id);
    }
    assert.match(sidecars, /SYNCED/);
  });

  it('draws the edges with live numbers that move while traffic flows', async () => {
    const p = page as Page;
    pump = setInterval(() => h.traffic(20, failEvery), 50);
    let edges: EdgeView[] = [];
    await waitFor(
      'two edges with traffic',
      async () => {
        edges = await p.eval<EdgeView[]>(EDGES);
        return (
          edges.length === 2 &&
          edges.every((e) => /^[\d.]+ rps · 100% · p50 [\d.]+ms · p99 [\d.]+ms$/.test(e.label))
        );
      },
      20_000,
      100,
    );
    assert.deepEqual(edges.map((e) => `${e.source} -> ${e.destination}`).sort(), [
      'frontend.default -> catalog.default',
      'frontend.default -> reviews.default',
    ]);
    const reviews = () =>
      p.eval<string>(`(${EDGES}).find((e) => e.destination === 'reviews.default').label`);
    const first = await reviews();
    // One reviews call in two now fails: the edge's success rate falls, live.
    failEvery = 2;
    let now = first;
    await waitFor(
      'the reviews edge to show failures',
      async () => {
        now = await reviews();
        const ok = /· ([\d.]+)% ·/.exec(now);
        return ok !== null && Number(ok[1]) < 90;
      },
      20_000,
      100,
    );
    assert.notEqual(now, first);
    const catalog = await p.eval<string>(
      `(${EDGES}).find((e) => e.destination === 'catalog.default').label`,
    );
    assert.match(catalog, / 100% /, 'catalog calls still all succeed');
  });

  it("shows a service's detail with its errors by response flag when clicked", async () => {
    const p = page as Page;
    await p.eval(
      `document.querySelector('.node[data-id="reviews.default"]').dispatchEvent(new MouseEvent('click', { bubbles: true }))`,
    );
    await waitFor(
      'the reviews detail with UF errors',
      async () => {
        const text = await p.eval<string>(`document.getElementById('detail').textContent`);
        return (
          text.includes('reviews.default.svc.cluster.local') &&
          text.includes('UF') &&
          text.includes('v2')
        );
      },
      10_000,
      100,
    );
  });

  it('draws TCP traffic as an edge too, with bytes per second and connections', async () => {
    const p = page as Page;
    const tcpPump = setInterval(() => h.tcpTraffic(5), 50);
    const label = () =>
      p.eval<string | undefined>(`(${EDGES}).find((e) => e.source === 'catalog.default')?.label`);
    try {
      let seen = '';
      await waitFor(
        'a TCP edge from catalog to reviews',
        async () => {
          seen = (await label()) ?? '';
          return /^TCP [\d.]+ (k|M)?B\/s → · [\d.]+ (k|M)?B\/s ← · [\d.]+ conn\/s$/.test(seen);
        },
        20_000,
        100,
      );
      const dashed = await p.eval<boolean>(
        `document.querySelector('.edge[data-source="catalog.default"]').classList.contains('tcp')`,
      );
      assert.ok(dashed, 'a TCP-only edge is drawn dashed');
      // Four times the bytes per connection in as back: the page shows both directions.
      const [, inRate, inUnit, backRate, backUnit] =
        /^TCP ([\d.]+) (k|M)?B\/s → · ([\d.]+) (k|M)?B\/s ←/.exec(seen) ?? [];
      const scale = (u: string | undefined) => (u === 'M' ? 1e6 : u === 'k' ? 1e3 : 1);
      const ratio = (Number(inRate) * scale(inUnit)) / (Number(backRate) * scale(backUnit));
      assert.ok(Math.abs(ratio - 4) < 0.2, `in/back ${ratio}`);
      console.log(`      catalog -> reviews: ${seen}`);
    } finally {
      clearInterval(tcpPump);
    }
  });

  it('draws each service with its version nodes, and a lock on every mTLS edge', async () => {
    const p = page as Page;
    if (!pump) pump = setInterval(() => h.traffic(20, failEvery), 50);
    const VERSIONS = `[...document.querySelectorAll('.version-node')].map((v) => v.dataset.id + ' ' + v.textContent).sort()`;
    let versions: string[] = [];
    // The nodes are there from the endpoints at once; their numbers once traffic is scraped.
    await waitFor(
      'the version nodes, reviews v1 with its rate',
      async () => {
        versions = await p.eval<string[]>(VERSIONS);
        return versions.length === 4 && /v1 · [\d.]+ rps · [\d.]+% ok/.test(versions[2] ?? '');
      },
      20_000,
      100,
    );
    console.log(`      version nodes: ${versions.join(' | ')}`);
    assert.deepEqual(
      versions.map((v) => v.split(' ')[0]),
      ['catalog.default@v1', 'frontend.default@v1', 'reviews.default@v1', 'reviews.default@v2'],
    );
    // Every version node sits inside its service's box.
    const inside =
      await p.eval<boolean>(`[...document.querySelectorAll('.version-node')].every((v) => {
      const r = v.getBoundingClientRect(), b = v.closest('.node').querySelector('rect').getBoundingClientRect();
      return r.left >= b.left && r.right <= b.right && r.top >= b.top && r.bottom <= b.bottom; })`);
    assert.ok(inside, 'version nodes inside their service');
    const edges = await p.eval<EdgeView[]>(EDGES);
    const http = edges.filter((e) => e.source === 'frontend.default');
    assert.equal(http.length, 2);
    for (const e of http) {
      assert.equal(e.head, 'HTTP · mTLS', `${e.source} -> ${e.destination}`);
      assert.equal(e.mtls, '100%');
    }
    assert.equal(
      await p.eval<number>(`document.querySelectorAll('.edge.mtls .mtls-marker').length`),
      edges.filter((e) => e.mtls !== 'none').length,
    );
    assert.equal(
      await p.eval<number>(
        `[...document.querySelectorAll('.node')].filter((n) => n.dataset.id === 'unknown').length`,
      ),
      0,
      'no unknown node',
    );
  });

  it('never lets two labels overlap, nor a label cover a service box', async () => {
    const p = page as Page;
    const tcpPump = setInterval(() => h.tcpTraffic(5), 50);
    try {
      await waitFor(
        'three edges',
        async () => (await p.eval<EdgeView[]>(EDGES)).length === 3,
        20_000,
        100,
      );
      const boxes = await p.eval<
        Array<{ kind: string; id: string; l: number; r: number; t: number; b: number }>
      >(`[
        ...[...document.querySelectorAll('.edge-label')].map((e) => ({ kind: 'label', id: e.parentNode.dataset.source + '>' + e.parentNode.dataset.destination, r: e.getBoundingClientRect() })),
        ...[...document.querySelectorAll('.node > rect')].map((e) => ({ kind: 'node', id: e.parentNode.dataset.id, r: e.getBoundingClientRect() })),
      ].map((x) => ({ kind: x.kind, id: x.id, l: x.r.left, r: x.r.right, t: x.r.top, b: x.r.bottom }))`);
      const labels = boxes.filter((x) => x.kind === 'label');
      assert.equal(labels.length, 3);
      const hit = (a: (typeof boxes)[number], b: (typeof boxes)[number]) =>
        a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
      for (const a of labels) {
        for (const b of boxes) {
          if (a !== b) assert.ok(!hit(a, b), `${a.kind} ${a.id} overlaps ${b.kind} ${b.id}`);
        }
      }
    } finally {
      clearInterval(tcpPump);
    }
  });

  it("shows the routes, per-version success and each endpoint's health as the sidecars see it; tables fit", async () => {
    const p = page as Page;
    // frontend's sidecar ejected reviews v2's endpoint (outlier detection).
    const frontend = h.metrics.get('frontend');
    assert.ok(frontend);
    frontend.unhealthy = [
      {
        cluster: 'outbound|8080||reviews.default.svc.cluster.local',
        endpoint: '127.0.0.1:15009',
        reason: 'outlier_ejected',
      },
    ];
    await p.eval(
      `document.querySelector('.node[data-id="reviews.default"]').dispatchEvent(new MouseEvent('click', { bubbles: true }))`,
    );
    await waitFor(
      'the ejected endpoint in the reviews detail',
      async () =>
        (
          await p.eval<string>(`document.getElementById('endpoints-table')?.textContent ?? ''`)
        ).includes('EJECTED'),
      20_000,
      100,
    );
    const rows = await p.eval<string[]>(
      `[...document.querySelectorAll('#endpoints-table tr')].slice(1).map((r) => [...r.children].map((c) => c.textContent).join(' | '))`,
    );
    console.log(`      endpoints: ${rows.join(' / ')}`);
    const v2 = rows.find((r) => r.includes('15009'));
    const v1 = rows.find((r) => r.includes('15008'));
    assert.match(v2 ?? '', /EJECTED \(outlier detection\) by frontend-v1-pod/);
    assert.match(v1 ?? '', /HEALTHY/);
    assert.equal(
      await p.eval<string>(
        `document.querySelector('#endpoints-table .ejected').textContent.slice(0, 7)`,
      ),
      'EJECTED',
    );
    const routes = await p.eval<string>(`document.getElementById('routes-table').textContent`);
    for (const text of [
      'header x-canary = true',
      'reviews v2 100%',
      'abort HTTP 503 to 5%',
      'path ^= /api',
      'reviews v1 80%',
      'reviews v2 20%',
      'reviews v2 (5%)',
    ]) {
      assert.ok(routes.includes(text), `routes show ${text}: ${routes}`);
    }
    let versions = '';
    await waitFor(
      'requests by version in the detail',
      async () => {
        versions = await p.eval<string>(
          `document.getElementById('versions-table')?.textContent ?? ''`,
        );
        return versions.includes('v2');
      },
      20_000,
      100,
    );
    assert.match(versions, /v1/);
    assert.match(versions, /v2/);
    // Every table fits its panel: nothing cut off, nothing to scroll sideways.
    const overflow = await p.eval<Array<{ id: string; table: number; panel: number }>>(
      `[...document.querySelectorAll('#detail table')].map((t) => ({ id: t.id, table: t.scrollWidth, panel: document.getElementById('detail').clientWidth }))`,
    );
    for (const o of overflow)
      assert.ok(o.table <= o.panel, `${o.id} is ${o.table}px in a ${o.panel}px panel`);
    frontend.unhealthy = [];
  });

  it('shows a rejected mesh file as a banner with its error, and drops it once fixed', async () => {
    const p = page as Page;
    h.writeMesh(
      HARNESS_MESH.replace(
        'protocol: http }]\n  - name: catalog',
        'protocl: http }]\n  - name: catalog',
      ),
    );
    await waitFor(
      'the banner',
      async () => !(await p.eval<boolean>(`document.getElementById('config-banner').hidden`)),
      20_000,
      100,
    );
    const text = await p.eval<string>(`document.getElementById('config-banner').textContent`);
    console.log(`      banner: ${text.replace(/\n/g, ' ')}`);
    assert.match(text, /rejected; the last good configuration stays in force/);
    assert.match(text, /protocl/);
    h.writeMesh(HARNESS_MESH);
    await waitFor(
      'the banner to go',
      async () => p.eval<boolean>(`document.getElementById('config-banner').hidden`),
      20_000,
      100,
    );
  });
});

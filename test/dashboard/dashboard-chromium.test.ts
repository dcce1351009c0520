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
import { DashboardHarness } from './dashboard-harness.js';

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
  label: string;
}

const EDGES = `[...document.querySelectorAll('.edge')].map((e) => ({
  source: e.dataset.source, destination: e.dataset.destination,
  label: e.querySelector('text').textContent }))`;

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
});

/**
 * The Grafana dashboards under helm/ferry/dashboards: valid dashboard JSON (schemaVersion,
 * unique uids, panels with targets and grid positions), and every PromQL expression uses
 * only Istio's standard metrics and labels, the contract Ferry's sidecars serve
 * (https://istio.io/latest/docs/reference/config/metrics/). With promtool (Debian's
 * `prometheus`) the expressions are also parsed by Prometheus itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ISTIO_LABELS } from '../../src/proxy/http/index.js';

const DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../helm/ferry/dashboards',
);

const COUNTERS = [
  'istio_requests_total',
  'istio_tcp_sent_bytes_total',
  'istio_tcp_received_bytes_total',
  'istio_tcp_connections_opened_total',
  'istio_tcp_connections_closed_total',
];
const HISTOGRAMS = [
  'istio_request_duration_milliseconds',
  'istio_request_bytes',
  'istio_response_bytes',
];
const METRICS = new Set([
  ...COUNTERS,
  ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);
const LABELS = new Set<string>(ISTIO_LABELS);
const FUNCTIONS = new Set([
  'rate',
  'irate',
  'increase',
  'sum',
  'avg',
  'max',
  'min',
  'count',
  'topk',
  'bottomk',
  'histogram_quantile',
  'round',
  'vector',
  'clamp_min',
  'label_values',
]);
const KEYWORDS = new Set([
  'by',
  'without',
  'or',
  'and',
  'unless',
  'on',
  'ignoring',
  'bool',
  'offset',
]);

interface Use {
  metrics: string[];
  labels: string[];
  functions: string[];
}

/** The metric names, label names and functions a PromQL expression uses. */
function promqlUses(expr: string): Use {
  const use: Use = { metrics: [], labels: [], functions: [] };
  // Grafana's variables are not PromQL.
  let e = expr.replace(/\$\{?\w+\}?/g, 'X');
  // Label matchers inside selectors, then the selectors' braces.
  e = e.replace(/\{([^}]*)\}/g, (_m, inner: string) => {
    for (const m of inner.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)) {
      use.labels.push(m[1] as string);
    }
    return ' ';
  });
  e = e.replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring)\s*\(([^)]*)\)/g, (_m, _k, list: string) => {
    for (const l of list
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s))
      use.labels.push(l);
    return ' ';
  });
  for (const m of e.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const word = m[1] as string;
    if (m[2]) use.functions.push(word);
    else if (!KEYWORDS.has(word) && !/^X$/.test(word)) {
      // label_values(metric, label): the second argument is a label.
      if (/label_values\(/.test(expr) && LABELS.has(word) && !METRICS.has(word))
        use.labels.push(word);
      else use.metrics.push(word);
    }
  }
  return use;
}

interface Panel {
  type: string;
  title: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; refId: string }>;
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

function load(): Array<[string, Dashboard]> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Dashboard]);
}

function expressions(d: Dashboard): string[] {
  const out: string[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push(t.expr);
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  return out;
}

describe('Grafana dashboards (helm/ferry/dashboards)', () => {
  const dashboards = load();

  it('has the mesh overview, service and workload dashboards, with unique uids', () => {
    assert.deepEqual(
      dashboards.map(([f]) => f),
      ['mesh-overview.json', 'service.json', 'workload.json'],
    );
    const uids = dashboards.map(([, d]) => d.uid);
    assert.equal(new Set(uids).size, uids.length);
  });

  it('is valid dashboard JSON: schemaVersion, titled panels in the grid, each query with a refId', () => {
    for (const [file, d] of dashboards) {
      assert.ok(
        Number.isInteger(d.schemaVersion) && d.schemaVersion >= 36,
        `${file}: schemaVersion`,
      );
      assert.ok(d.title && d.uid, `${file}: title and uid`);
      assert.ok(d.panels.length > 3, `${file}: panels`);
      const ids = new Set<number>();
      for (const p of d.panels) {
        const { id } = p as Panel & { id: number };
        assert.ok(!ids.has(id), `${file}: panel id ${id} twice`);
        ids.add(id);
        assert.ok(p.title, `${file}: a panel without a title`);
        const g = p.gridPos;
        assert.ok(g && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${file}: ${p.title}: gridPos`);
        if (p.type === 'row') continue;
        assert.ok(
          ['stat', 'timeseries', 'table'].includes(p.type),
          `${file}: ${p.title}: type ${p.type}`,
        );
        assert.ok(p.targets?.length, `${file}: ${p.title}: no targets`);
        const refs = p.targets?.map((t) => t.refId) ?? [];
        assert.equal(new Set(refs).size, refs.length, `${file}: ${p.title}: refIds`);
      }
    }
  });

  it("uses only Istio's standard metrics and labels in every expression", () => {
    let checked = 0;
    for (const [file, d] of dashboards) {
      const all = [
        ...expressions(d),
        ...d.templating.list
          .filter((v) => v.type === 'query')
          .map((v) => (v.query as { query: string }).query),
      ];
      for (const expr of all) {
        const use = promqlUses(expr);
        assert.ok(use.metrics.length > 0, `${file}: no metric in ${expr}`);
        for (const m of use.metrics)
          assert.ok(METRICS.has(m), `${file}: unknown metric ${m} in ${expr}`);
        for (const l of use.labels) {
          const bucketBound = l === 'le' && use.metrics.every((m) => m.endsWith('_bucket'));
          assert.ok(LABELS.has(l) || bucketBound, `${file}: unknown label ${l} in ${expr}`);
        }
        for (const f of use.functions)
          assert.ok(FUNCTIONS.has(f), `${file}: function ${f} in ${expr}`);
        checked++;
      }
    }
    assert.ok(checked > 30, `${checked} expressions`);
  });

  it('the checker catches a metric or a label outside the contract', () => {
    const bad = promqlUses(
      'sum by (pod) (rate(envoy_cluster_upstream_rq{reporter="source",app="x"}[5m]))',
    );
    assert.deepEqual(bad.metrics, ['envoy_cluster_upstream_rq']);
    assert.deepEqual(bad.labels.sort(), ['app', 'pod', 'reporter']);
    const ok = promqlUses(
      'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{destination_service=~"$service"}[$__rate_interval])))',
    );
    assert.deepEqual(ok.metrics, ['istio_request_duration_milliseconds_bucket']);
    assert.deepEqual(ok.labels.sort(), ['destination_service', 'le']);
  });

  it('parses with Prometheus itself (promtool check rules)', function () {
    const PROMTOOL = '/usr/bin/promtool';
    if (!existsSync(PROMTOOL)) {
      if (process.env.CI) throw new Error(`${PROMTOOL} is missing: apt-get install prometheus`);
      console.log(`      skipped: ${PROMTOOL} is not installed (apt-get install prometheus)`);
      this.skip();
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-promtool-'));
    try {
      // Grafana's variables, as Grafana would fill them in.
      const exprs = dashboards
        .flatMap(([, d]) => expressions(d))
        .map((e) => e.replace(/\$__rate_interval/g, '1m').replace(/\$\w+/g, '.*'));
      const rules = [
        'groups:',
        '  - name: ferry-dashboards',
        '    rules:',
        ...exprs.flatMap((e, i) => [
          `      - record: ferry:dashboard_expr_${i}`,
          `        expr: ${JSON.stringify(e)}`,
        ]),
      ].join('\n');
      const file = path.join(dir, 'rules.yml');
      writeFileSync(file, `${rules}\n`);
      const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The dashboard page: one self-contained HTML document (no CDN, no external fetch, works
 * offline). It polls /dashboard/api/graph (every 2 s; `?refresh=MS` to change) and draws
 * a versioned-app graph as inline SVG, after Kiali's: each service a box holding its version
 * nodes (rate and success rate of each, counting requests, not retried attempts); edges
 * with their protocol, a lock where traffic is mutual TLS, request rate, success rate and
 * latency (TCP edges dashed, with bytes per second each way and connections per second).
 * Edge labels are moved apart after layout until no two overlap (nor a label and a box).
 * A rejected mesh file shows as a banner with its error. Clicking a service shows its
 * detail: routes (matches, weights, mirror, fault), policy, and each endpoint's health as
 * the calling sidecars see it (outlier ejection, failed health checks).
 * Text from the mesh is only ever set through textContent, never parsed as HTML.
 */

const STYLE = `
:root { --fg:#1d2433; --muted:#667085; --line:#c5cbd6; --ok:#1a7f37; --warn:#b26b00; --bad:#c62828; --bg:#f7f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:16px; align-items:baseline; padding:10px 16px; background:#fff; border-bottom:1px solid var(--line); }
header h1 { font-size:17px; margin:0; }
header .meta { color:var(--muted); font-size:12px; }
main { display:grid; grid-template-columns: minmax(0,1fr) minmax(380px,34%); gap:12px; padding:12px; }
.banner { margin:12px 12px 0; padding:10px 14px; border:1px solid var(--bad); border-left-width:5px; background:#fdecea; color:#5f1111; border-radius:4px; }
.banner pre { margin:6px 0 0; white-space:pre-wrap; overflow-wrap:anywhere; font-size:12px; }
.version-node rect { fill:#fff; stroke:#8fa8d0; stroke-width:1; rx:4; }
.version-node.bad rect { stroke:var(--bad); fill:#fdecea; }
.version-node text { font-size:11px; }
.edge.mtls line { stroke:#2e6bd1; }
.edge .mtls-marker { font-size:11px; fill:#2e6bd1; font-weight:600; }
.ejected, .failed { color:var(--bad); font-weight:600; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 12px; min-width:0; }
h2 { font-size:14px; margin:0 0 8px; }
#graph svg { width:100%; height:auto; display:block; }
#detail { overflow-x:auto; }
#detail p { overflow-wrap:anywhere; }
.node rect { fill:#eef3fb; stroke:#5b7db1; stroke-width:1.2; rx:6; }
.node.undeclared rect { fill:#f4f4f4; stroke:#999; stroke-dasharray:4 3; }
.node.selected rect { stroke-width:3; }
.node text { font-size:12px; }
.node .title { font-weight:600; }
.node { cursor:pointer; }
.edge line { stroke:#8a94a6; stroke-width:1.6; }
.edge.bad line { stroke:var(--bad); }
.edge.warn line { stroke:var(--warn); }
.edge.tcp line { stroke-dasharray:6 4; }
.edge text { font-size:11px; fill:#344054; paint-order:stroke; stroke:#fff; stroke-width:3px; }
table { border-collapse:collapse; width:100%; font-size:12px; table-layout:fixed; }
th, td { text-align:left; padding:3px 6px; border-bottom:1px solid #eceef2; vertical-align:top; overflow-wrap:anywhere; }
th { color:var(--muted); font-weight:500; }
.SYNCED { color:var(--ok); } .STALE, .NOT-SENT { color:var(--warn); } .NACKED { color:var(--bad); font-weight:600; }
.full { grid-column: 1 / -1; }
.empty { color:var(--muted); }
code { font-size:12px; }
#error { color:var(--bad); }
`;

const SCRIPT = `
'use strict';
const SVG = 'http://www.w3.org/2000/svg';
const params = new URLSearchParams(location.search);
const refreshMs = Math.max(200, Number(params.get('refresh')) || 2000);
let selected = params.get('service') || '';
let lastGraph;

function el(tag, attrs, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function rate(x) { return x === undefined || x === null ? '-' : (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)); }
function pct(x) { return x === undefined || x === null ? '-' : (x * 100).toFixed(x === 1 ? 0 : 1) + '%'; }
function ms(x) { return x === undefined || x === null ? '-' : (x >= 100 ? x.toFixed(0) : x.toFixed(1)) + 'ms'; }
function bytes(x) { return x === undefined || x === null ? '-' : x >= 1e6 ? (x / 1e6).toFixed(1) + ' MB' : x >= 1e3 ? (x / 1e3).toFixed(1) + ' kB' : x.toFixed(0) + ' B'; }
function tcpLabel(t) { return 'TCP ' + bytes(t.receivedBytesPerSecond) + '/s → · ' + bytes(t.sentBytesPerSecond) + '/s ← · ' + rate(t.connectionsOpenedPerSecond) + ' conn/s'; }
function edgeLabel(e) {
  const http = rate(e.rps) + ' rps · ' + pct(e.successRate) + ' · p50 ' + ms(e.p50) + ' · p99 ' + ms(e.p99);
  if (!e.tcp) return http;
  return e.requests > 0 ? http + ' | ' + tcpLabel(e.tcp) : tcpLabel(e.tcp);
}

const W = 210, ROW = 22, HEAD = 64, GAP_X = 440, GAP_Y = 36;
function nodeHeight(n) { return HEAD + (n.versions || []).length * ROW + ((n.versions || []).length ? 6 : 0); }

function layout(nodes, edges) {
  const incoming = new Map(nodes.map((n) => [n.id, 0]));
  for (const e of edges) if (e.source !== e.destination) incoming.set(e.destination, (incoming.get(e.destination) || 0) + 1);
  const depth = new Map();
  for (const n of nodes) if (!incoming.get(n.id)) depth.set(n.id, 0);
  // Longest path from a caller, bounded so that a cycle cannot loop.
  for (let round = 0; round < nodes.length; round++) {
    let changed = false;
    for (const e of edges) {
      if (e.source === e.destination) continue;
      const d = (depth.get(e.source) ?? 0) + 1;
      if (d > (depth.get(e.destination) ?? -1) && d < nodes.length) { depth.set(e.destination, d); changed = true; }
    }
    if (!changed) break;
  }
  const columns = new Map();
  for (const n of nodes) {
    const d = depth.get(n.id) ?? 0;
    if (!columns.has(d)) columns.set(d, []);
    columns.get(d).push(n);
  }
  const pos = new Map();
  let height = 0;
  for (const [d, list] of columns) {
    let y = 40;
    for (const n of list) { const h = nodeHeight(n); pos.set(n.id, { x: 30 + d * GAP_X, y, h }); y += h + GAP_Y; }
    height = Math.max(height, y);
  }
  return { pos, width: 30 + (Math.max(...columns.keys(), 0) + 1) * GAP_X - (GAP_X - W) + 30, height: height + 20 };
}

function overlaps(a, b) { return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height; }

/** Moves edge labels down (then up) until no two overlap and none covers a node. */
function separateLabels(svg) {
  const fixed = [...svg.querySelectorAll('.node > rect')].map((r) => { const g = r.parentNode; const b = r.getBBox(); const t = g.transform.baseVal.consolidate().matrix; return { x: b.x + t.e, y: b.y + t.f, width: b.width, height: b.height }; });
  const labels = [...svg.querySelectorAll('.edge-label')].sort((a, b) => a.getBBox().y - b.getBBox().y);
  const placed = [];
  for (const label of labels) {
    const base = Number(label.getAttribute('y'));
    const box0 = label.getBBox();
    let found = false;
    for (let step = 0; step < 80 && !found; step++) {
      const dy = (step % 2 ? -1 : 1) * Math.ceil(step / 2) * 8;
      const box = { x: box0.x - 2, y: box0.y + dy - 2, width: box0.width + 4, height: box0.height + 4 };
      if (!placed.some((p) => overlaps(p, box)) && !fixed.some((f) => overlaps(f, box))) {
        label.setAttribute('y', base + dy);
        for (const t of label.querySelectorAll('tspan')) t.setAttribute('y', Number(t.dataset.y) + dy);
        placed.push(box);
        found = true;
      }
    }
    if (!found) placed.push(label.getBBox());
  }
}

function edgeText(e) {
  const proto = (e.protocols && e.protocols.length ? e.protocols : [e.tcp ? 'tcp' : 'http']).join('+').toUpperCase();
  return proto + (e.mtlsShare > 0 ? (e.mtlsShare >= 0.999 ? ' · mTLS' : ' · mTLS ' + pct(e.mtlsShare)) : '');
}

function drawGraph(g) {
  const box = document.getElementById('graph-canvas');
  const { pos, width, height } = layout(g.nodes, g.edges);
  const vw = Math.max(width, 400);
  const svg = el('svg:svg', { viewBox: '0 0 ' + vw + ' ' + Math.max(height, 160), role: 'img', 'aria-label': 'versioned service graph', style: 'max-width:' + vw + 'px' });
  const defs = el('svg:defs');
  const marker = el('svg:marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(el('svg:path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8a94a6' }));
  defs.append(marker);
  svg.append(defs);
  for (const e of g.edges) {
    const a = pos.get(e.source), b = pos.get(e.destination);
    if (!a || !b) continue;
    const mtls = e.mtlsShare > 0;
    const cls = (e.successRate !== undefined && e.successRate !== null && e.successRate < 0.95 ? 'edge bad' : e.successRate < 0.99 ? 'edge warn' : 'edge') + (e.tcp && !e.requests ? ' tcp' : '') + (mtls ? ' mtls' : '');
    const grp = el('svg:g', { class: cls, 'data-source': e.source, 'data-destination': e.destination, 'data-mtls': mtls ? pct(e.mtlsShare) : 'none' });
    const x1 = a.x + W, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
    grp.append(el('svg:line', { x1, y1, x2: x2 <= x1 ? b.x + W / 2 : x2, y2: x2 <= x1 ? b.y : y2, 'marker-end': 'url(#arrow)' }));
    const ly = (y1 + y2) / 2 - 8;
    const label = el('svg:text', { x: (x1 + x2) / 2, y: ly, 'text-anchor': 'middle', class: 'edge-label' });
    const first = el('svg:tspan', { x: (x1 + x2) / 2, y: ly - 13, 'data-y': ly - 13 }, edgeText(e));
    const second = el('svg:tspan', { x: (x1 + x2) / 2, y: ly, 'data-y': ly }, edgeLabel(e));
    label.append(first, second);
    grp.append(label);
    if (mtls) grp.append(el('svg:text', { x: x2 - 14, y: y2 - 6, class: 'mtls-marker', 'text-anchor': 'end' }, '🔒'));
    svg.append(grp);
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const cls = 'node' + (n.declared ? '' : ' undeclared') + (n.id === selected ? ' selected' : '');
    const grp = el('svg:g', { class: cls, 'data-id': n.id, transform: 'translate(' + p.x + ',' + p.y + ')', tabindex: 0 });
    grp.append(el('svg:rect', { width: W, height: p.h }));
    grp.append(el('svg:text', { x: 10, y: 20, class: 'title' }, n.name + (n.namespace ? '.' + n.namespace : '')));
    const s = n.stats;
    // A service with TCP traffic only: the bytes and connections of its incoming edges.
    const tcpIn = g.edges.filter((e) => e.destination === n.id && e.tcp).map((e) => e.tcp);
    const tcpText = tcpIn.length ? 'TCP ' + bytes(tcpIn.reduce((a, t) => a + t.receivedBytesPerSecond + t.sentBytesPerSecond, 0)) + '/s · ' + rate(tcpIn.reduce((a, t) => a + t.connectionsOpenedPerSecond, 0)) + ' conn/s' : 'no inbound traffic';
    grp.append(el('svg:text', { x: 10, y: 38, class: 'node-rate' }, s ? rate(s.rps) + ' rps · ' + pct(s.successRate) + ' ok' : tcpText));
    grp.append(el('svg:text', { x: 10, y: 54, class: 'node-latency' }, s ? 'p50 ' + ms(s.p50) + ' · p99 ' + ms(s.p99) : ''));
    (n.versions || []).forEach((v, i) => {
      const bad = v.successRate !== undefined && v.successRate !== null && v.successRate < 0.95;
      const vg = el('svg:g', { class: 'version-node' + (bad ? ' bad' : ''), 'data-id': n.id + '@' + v.version, transform: 'translate(8,' + (HEAD + i * ROW) + ')' });
      vg.append(el('svg:rect', { width: W - 16, height: ROW - 4 }));
      vg.append(el('svg:text', { x: 6, y: 13 }, v.version + ' · ' + (v.requests ? rate(v.rps) + ' rps · ' + pct(v.successRate) + ' ok' : 'no traffic')));
      grp.append(vg);
    });
    grp.addEventListener('click', () => { selected = n.id; drawGraph(lastGraph); loadService(); });
    svg.append(grp);
  }
  box.replaceChildren(svg);
  separateLabels(svg);
  // Labels moved below the last box may need room.
  const bottom = Math.max(Math.max(height, 160), ...[...svg.querySelectorAll('.edge-label')].map((t) => { const b = t.getBBox(); return b.y + b.height + 10; }));
  svg.setAttribute('viewBox', '0 0 ' + vw + ' ' + bottom);
}

function drawBanner(error) {
  const banner = document.getElementById('config-banner');
  if (!error) { banner.hidden = true; banner.replaceChildren(); return; }
  banner.replaceChildren(el('strong', {}, 'The mesh file was rejected; the last good configuration stays in force.'), el('pre', {}, error));
  banner.hidden = false;
}

function table(headers, rows, id) {
  const t = el('table', id ? { id } : {});
  const tr = el('tr');
  for (const h of headers) tr.append(el('th', {}, h));
  t.append(tr);
  for (const r of rows) {
    const row = el('tr');
    for (const c of r) {
      if (c instanceof Node) { const td = el('td'); td.append(c); row.append(td); } else row.append(el('td', {}, c));
    }
    t.append(row);
  }
  return t;
}

function drawSidecars(list) {
  const box = document.getElementById('sidecars-table');
  if (!list.length) { box.replaceChildren(el('p', { class: 'empty' }, 'No sidecar is connected.')); return; }
  const types = ['CDS', 'LDS', 'EDS', 'RDS', 'SDS'];
  box.replaceChildren(table(['sidecar', 'service', 'address', 'labels', ...types, 'state', 'metrics'], list.map((c) => [
    c.nodeId, c.service, c.address, Object.entries(c.labels).map(([k, v]) => k + '=' + v).join(' '),
    ...types.map((t) => el('span', { class: (c.sync[t] || '-').replace(' ', '-') }, c.sync[t] || '-')),
    el('span', { class: c.state, title: c.nacks.map((n) => n.type + ': ' + n.message).join('\\n') }, c.state + (c.nacks.length ? ' (' + c.nacks.map((n) => n.type + ': ' + n.message).join('; ') + ')' : '')),
    c.metrics,
  ])));
}

const REASONS = { outlier_ejected: 'EJECTED (outlier detection)', failed_health_check: 'FAILED health check' };
function endpointHealth(e) {
  const span = el('span', { class: 'endpoint-health' });
  const seen = e.seenBy || [];
  if (!seen.length) { span.textContent = e.health; return span; }
  const reasons = [...new Set(seen.map((x) => x.reason))];
  span.className = 'endpoint-health ' + (reasons.includes('outlier_ejected') ? 'ejected' : 'failed');
  span.textContent = reasons.map((r) => REASONS[r] || r.toUpperCase()).join(', ') + ' by ' + seen.map((x) => x.sidecar).join(', ');
  return span;
}

async function loadService() {
  const box = document.getElementById('detail');
  if (!selected) { box.replaceChildren(el('p', { class: 'empty' }, 'Click a service in the graph.')); return; }
  const res = await fetch('dashboard/api/service?id=' + encodeURIComponent(selected));
  const d = await res.json();
  const parts = [el('h2', {}, selected)];
  if (!res.ok) { parts.push(el('p', { class: 'empty' }, d.error)); box.replaceChildren(...parts); return; }
  if (d.hostname) parts.push(el('p', {}, d.hostname + ' · ports ' + d.ports.map((p) => p.port + '/' + p.protocol).join(', ') + ' · mTLS ' + (d.mtls || '-')));
  const s = d.stats;
  parts.push(el('p', { id: 'detail-stats' }, s ? rate(s.rps) + ' rps · ' + pct(s.successRate) + ' ok · p50 ' + ms(s.p50) + ' · p99 ' + ms(s.p99) : 'no traffic in the window'));
  if (d.versions.length) parts.push(el('p', {}, 'versions: ' + d.versions.join(', ')));
  if (d.routes && d.routes.length) {
    parts.push(el('h2', {}, 'Routes'));
    parts.push(table(['route', 'when', 'to', 'mirror', 'fault', 'limits'], d.routes.map((r) => [r.name, r.matches.join(' or '), r.destinations.join(', '), r.mirror || '-', r.fault || '-', r.limits || '-']), 'routes-table'));
  }
  if (d.policyLines && d.policyLines.length) { parts.push(el('h2', {}, 'Policy')); parts.push(el('p', { id: 'policy' }, d.policyLines.join(' · '))); }
  if (d.authorization && d.authorization.length) parts.push(el('p', {}, 'authorization rules: ' + d.authorization.length));
  parts.push(el('h2', {}, 'Endpoints'));
  parts.push(d.endpoints.length ? table(['address', 'ports', 'labels', 'health (as sidecars see it)', 'from'], d.endpoints.map((e) => [e.address, Object.entries(e.ports).map(([a, b]) => a + '→' + b).join(' '), Object.entries(e.labels).map(([k, v]) => k + '=' + v).join(' '), endpointHealth(e), e.source]), 'endpoints-table') : el('p', { class: 'empty' }, 'none'));
  parts.push(el('h2', {}, 'Errors by response flag'));
  const flags = Object.entries(s ? s.responseFlags : {});
  parts.push(flags.length ? table(['flag', 'requests'], flags.map(([f, n]) => [f, String(Math.round(n))])) : el('p', { class: 'empty' }, 'none'));
  const codes = Object.entries(s ? s.responseCodes : {});
  if (codes.length) { parts.push(el('h2', {}, 'Response codes')); parts.push(table(['code', 'requests'], codes.map(([c, n]) => [c, String(Math.round(n))]))); }
  const tcpEdges = [...d.inbound, ...d.outbound].filter((e) => e.tcp);
  if (tcpEdges.length) { parts.push(el('h2', {}, 'TCP traffic')); parts.push(table(['edge', 'in/s', 'back/s', 'conn/s', 'opened', 'closed'], tcpEdges.map((e) => [e.source + ' → ' + e.destination, bytes(e.tcp.receivedBytesPerSecond), bytes(e.tcp.sentBytesPerSecond), rate(e.tcp.connectionsOpenedPerSecond), String(Math.round(e.tcp.connectionsOpened)), String(Math.round(e.tcp.connectionsClosed))]))); }
  if (s && s.byVersion && s.byVersion.length) { parts.push(el('h2', {}, 'Requests by version')); parts.push(table(['version', 'requests', 'rps', 'success', 'p99'], s.byVersion.map((v) => [v.version, String(Math.round(v.requests)), rate(v.rps), pct(v.successRate), ms(v.p99)]), 'versions-table')); }
  box.replaceChildren(...parts);
}

async function tick() {
  try {
    const res = await fetch('dashboard/api/graph');
    const g = await res.json();
    if (!res.ok) throw new Error(g.error || 'HTTP ' + res.status);
    lastGraph = g;
    drawBanner(g.configError);
    drawGraph(g);
    drawSidecars(g.sidecars);
    document.getElementById('updated').textContent = 'updated ' + g.at + ' · window ' + g.windowSeconds.toFixed(0) + ' s · from ' + g.source + ' · config version ' + g.version;
    document.getElementById('error').textContent = '';
    if (selected) await loadService();
  } catch (err) {
    document.getElementById('error').textContent = 'cannot update: ' + err.message;
  } finally {
    setTimeout(tick, refreshMs);
  }
}
loadService();
tick();
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry mesh</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Ferry mesh</h1><span class="meta" id="updated">loading…</span><span id="error"></span></header>
<div id="config-banner" class="banner" role="alert" hidden></div>
<main>
<section id="graph"><h2>Service graph (versions)</h2><div id="graph-canvas"></div></section>
<section id="detail"></section>
<section class="full" id="sidecars"><h2>Sidecars</h2><div id="sidecars-table"></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

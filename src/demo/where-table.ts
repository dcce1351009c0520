/** The demo's "what runs where": every process, its pid, ports and useful URLs. */

export interface SidecarPorts {
  readonly outbound: number;
  readonly inbound: number;
  readonly admin: number;
  readonly metrics: number;
  readonly ready: number;
}

export interface GatewayPorts {
  /** Its Gateway's HTTP listener, shifted by --port-offset: where the traffic enters. */
  readonly listener: number;
  readonly admin: number;
  readonly metrics: number;
  readonly ready: number;
}

export interface WhereInfo {
  readonly meshFile: string;
  readonly controlPlane: {
    readonly pid: number;
    readonly xdsPort: number;
    readonly httpPort: number;
    readonly securePort: number;
  };
  readonly instances: ReadonlyArray<{
    readonly service: string;
    readonly version: string;
    readonly nodeId: string;
    readonly app?: { readonly pid: number; readonly port: number };
    readonly sidecar: { readonly pid: number; readonly ports: SidecarPorts };
  }>;
  readonly gateway: { readonly pid: number; readonly ref: string; readonly ports: GatewayPorts };
  readonly traffic: { readonly rate: number; readonly windowS: number };
}

/** Every pid the demo started, in start order. */
export function demoPids(w: WhereInfo): number[] {
  return [
    w.controlPlane.pid,
    ...w.instances.flatMap((i) => (i.app ? [i.app.pid, i.sidecar.pid] : [i.sidecar.pid])),
    w.gateway.pid,
  ];
}

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd(),
  );
}

export function formatWhereTable(w: WhereInfo): string[] {
  const cp = w.controlPlane;
  const cpHttp = `http://127.0.0.1:${cp.httpPort}`;
  const rows = [
    [
      'service',
      'version',
      'app pid',
      'app port',
      'sidecar pid',
      'outbound',
      'inbound',
      'admin',
      'metrics',
      'ready',
    ],
    ...w.instances.map((i) => [
      i.service,
      i.version,
      i.app ? String(i.app.pid) : '-',
      i.app ? String(i.app.port) : '-',
      String(i.sidecar.pid),
      String(i.sidecar.ports.outbound),
      String(i.sidecar.ports.inbound),
      String(i.sidecar.ports.admin),
      String(i.sidecar.ports.metrics),
      String(i.sidecar.ports.ready),
    ]),
  ];
  const admin = columns(
    w.instances.map((i) => [
      `${i.service} ${i.version}`,
      `http://127.0.0.1:${i.sidecar.ports.admin}/clusters`,
      `${cpHttp}/debug/config_dump?node=${i.nodeId}`,
    ]),
  );
  const gw = w.gateway;
  const entry = `http://127.0.0.1:${gw.ports.listener}/`;
  return [
    'Ferry demo: a whole mesh on 127.0.0.1',
    '',
    `control plane (pid ${cp.pid})`,
    `  dashboard  ${cpHttp}/   (the service graph, live)`,
    `  xDS   127.0.0.1:${cp.xdsPort} (plaintext), 127.0.0.1:${cp.securePort} (TLS: xDS + identity; the sidecars use it and mTLS between them)`,
    `  HTTP  ${cpHttp}/debug/syncz   ${cpHttp}/debug/registry   ${cpHttp}/metrics`,
    `  CLI   ferry proxy-status, proxy-config, check, analyze and version find it by themselves (state file); from another shell or user: export FERRY_CONTROL_PLANE=${cpHttp}`,
    '',
    ...columns(rows),
    '',
    `gateway ${gw.ref} (ferry gateway, pid ${gw.pid}): the way into the mesh`,
    `  listener  ${entry}   (its Gateway's HTTP listener; an HTTPRoute sends it to frontend)`,
    `  admin ${gw.ports.admin}  metrics http://127.0.0.1:${gw.ports.metrics}/stats/prometheus  ready ${gw.ports.ready}`,
    '',
    'each sidecar: its admin (also /config_dump, /stats) and what the control plane sent it',
    ...admin.map((line) => `  ${line}`),
    '',
    `mesh file  ${w.meshFile}`,
    '           (watched: change the reviews weights and the split follows within a second)',
    `traffic    ${w.traffic.rate} requests/s from outside the mesh to the gateway (${entry}); a summary every ${w.traffic.windowS} s`,
    `pids       ${demoPids(w).join(' ')}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
}

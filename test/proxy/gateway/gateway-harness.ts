/**
 * For gateway tests: Envoy xDS resources as the control plane serves a gateway node (by the
 * contract in README's gateway section: `gateway~<port>` listeners, SDS secrets), served by a
 * real gRPC ADS server, and `ferry gateway` as a real process.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeResource, typed, types } from '../../../src/xds/index.js';
import { type AnyResource, FuzzAdsServer } from '../../fuzz/fuzz-ads-server.js';
import { EPHEMERAL_ADMIN_PORTS } from '../../support/ephemeral-ports.js';
import type { ServerCert } from '../../support/server-certs.js';
import { waitFor } from '../../support/wait-for.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const TLS_CONTEXT = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';

export function any(typeUrl: string, value: object): AnyResource {
  return { type_url: typeUrl, value: encodeResource(typeUrl, value) };
}

/**
 * A port free now, outside the kernel's ephemeral range (the gateway binds what LDS says,
 * so tests pick ports; one from the ephemeral range could be handed to the next port-0 bind
 * of the gateway's own admin ports).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) continue;
    await new Promise((r) => server.close(r));
    return port;
  }
}

/** An HTTP connection manager over RDS; `rbac`: an RBAC filter's config before the router. */
export function hcm(routeName: string, rbac?: object): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: typed(HCM, {
      stat_prefix: routeName,
      rds: { route_config_name: routeName, config_source: { ads: {} } },
      http_filters: [
        ...(rbac
          ? [
              {
                name: 'envoy.filters.http.rbac',
                typed_config: typed('envoy.extensions.filters.http.rbac.v3.RBAC', rbac),
              },
            ]
          : []),
        { name: 'envoy.filters.http.router', typed_config: typed(ROUTER, {}) },
      ],
    }),
  };
}

export function tcpProxy(cluster: string): object {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: typed(TCP_PROXY, { stat_prefix: cluster, cluster }),
  };
}

export function tlsSocket(...secrets: string[]): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(TLS_CONTEXT, {
      common_tls_context: {
        tls_certificate_sds_secret_configs: secrets.map((name) => ({
          name,
          sds_config: { ads: {} },
        })),
      },
    }),
  };
}

export function listener(port: number, chains: object[], inspector = false): AnyResource {
  return any(types.LISTENER, {
    name: `gateway~${port}`,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    ...(inspector
      ? {
          listener_filters: [
            {
              name: 'envoy.filters.listener.tls_inspector',
              typed_config: typed(
                'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
                {},
              ),
            },
          ],
        }
      : {}),
    filter_chains: chains,
  });
}

/** Virtual hosts by domain, each sending everything to one cluster. */
export function routes(name: string, hosts: Record<string, string>): AnyResource {
  return any(types.ROUTE, {
    name,
    virtual_hosts: Object.entries(hosts).map(([domain, cluster], i) => ({
      name: `vh${i}`,
      domains: [domain],
      routes: [{ match: { prefix: '/' }, route: { cluster } }],
    })),
  });
}

export function staticCluster(name: string, port: number): AnyResource {
  return any(types.CLUSTER, {
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 1 },
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
            },
          ],
        },
      ],
    },
  });
}

export function secret(name: string, cert: ServerCert): AnyResource {
  return any(types.SECRET, {
    name,
    tls_certificate: {
      certificate_chain: { inline_bytes: Buffer.from(cert.cert) },
      private_key: { inline_bytes: Buffer.from(cert.key) },
    },
  });
}

export interface GatewayProcess {
  readonly adminPort: number;
  readonly metricsPort: number;
  /** Resolves with the exit code when the process exits. */
  readonly exited: Promise<number | null>;
  /** Output so far (stderr: its logs). */
  readonly output: () => string;
  /** SIGTERM. */
  kill(): void;
}

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');

/** `ferry gateway` against the ADS server, once it printed its ports (SIGKILLed after 10 min). */
export async function startGateway(
  ads: { readonly port: number },
  extra: string[] = [],
  gateway = 'edge/public',
): Promise<GatewayProcess> {
  const args = [
    'gateway',
    '--xds',
    `127.0.0.1:${ads.port}`,
    '--gateway',
    gateway,
    '--sotw',
    '--bind',
    '127.0.0.1',
    ...EPHEMERAL_ADMIN_PORTS,
    '--drain',
    '3000',
    '--log-level',
    'warn',
    ...extra,
  ];
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  killer.unref();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const ports = await new Promise<RegExpExecArray>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /admin (\d+), metrics (\d+), ready \d+\n/.exec(stdout);
      if (m) resolve(m);
    });
    void exited.then((code) => reject(new Error(`ferry gateway exited (${code}): ${stderr}`)));
  });
  return {
    adminPort: Number(ports[1]),
    metricsPort: Number(ports[2]),
    exited,
    output: () => stdout + stderr,
    kill: () => child.kill('SIGTERM'),
  };
}

/** Waits until the gateway says it is ready (its first configuration applied everywhere). */
export async function waitReady(g: GatewayProcess, ms = 30_000): Promise<void> {
  const waited = waitFor(
    'the gateway to apply its first configuration',
    async () => {
      const res = await fetch(`http://127.0.0.1:${g.metricsPort}/healthz/ready`).catch(
        () => undefined,
      );
      return res?.status === 200;
    },
    ms,
    50,
  );
  await waited.catch((err: Error) => {
    throw new Error(`${err.message}; the gateway said:\n${g.output()}`);
  });
}

export { type AnyResource, FuzzAdsServer };

/**
 * The mesh file's `egress:`: the external hosts the mesh may reach and the egress gateway
 * they leave through, in the spirit of Istio's ServiceEntry (MESH_EXTERNAL) routed through an
 * egress gateway (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-gateway/).
 * What the schema cannot say is checked here: a host is a DNS name or an IP literal, TLS
 * needs a name (SNI carries no address, RFC 6066 section 3), and a host is declared once per
 * port (and once for TLS at all: SNI carries no port either).
 */
import { isIP } from 'node:net';
import { int, list, oneOf, record, str } from '../parsed-data/index.js';
import type { Issue } from './issue.js';
import {
  DEFAULT_EGRESS_HTTP_PORT,
  DEFAULT_EGRESS_TLS_PORT,
  type Egress,
  type EgressHost,
} from './model.js';

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkHost(h: EgressHost, path: (string | number)[], issues: Issue[]): void {
  if (h.host === '') return; // the schema reports it
  const ip = isIP(h.host) !== 0;
  if (!ip && !DNS_NAME.test(h.host)) {
    issues.push({
      path: [...path, 'host'],
      message: `'${h.host}' is neither a lower-case DNS name nor an IP literal`,
    });
  } else if (ip && h.protocol === 'tls') {
    issues.push({
      path: [...path, 'host'],
      message: `a tls host must be a DNS name: the gateway routes TLS by SNI, which carries no IP address ('${h.host}')`,
    });
  }
}

export function normalizeEgress(raw: unknown, issues: Issue[]): { egress?: Egress } {
  if (raw === undefined) return {};
  const e = record(raw);
  const seen = new Map<string, number>();
  const hosts = list(e.hosts).map((item, i): EgressHost => {
    const h = record(item);
    const host: EgressHost = {
      host: str(h.host) ?? '',
      port: int(h.port) ?? 0,
      protocol: oneOf(h.protocol, ['http', 'tls'] as const) ?? 'http',
    };
    const path = ['egress', 'hosts', i];
    checkHost(host, path, issues);
    const key = host.protocol === 'tls' ? `tls ${host.host}` : `${host.host}:${host.port}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else {
      issues.push({
        path: [...path, 'host'],
        message:
          host.protocol === 'tls'
            ? `tls host '${host.host}' is declared twice (see egress.hosts[${first}]): SNI carries no port, so the gateway could not tell them apart`
            : `host '${host.host}' port ${host.port} is declared twice; see egress.hosts[${first}]`,
      });
    }
    return host;
  });
  const httpPort = int(e.httpPort) ?? DEFAULT_EGRESS_HTTP_PORT;
  const tlsPort = int(e.tlsPort) ?? DEFAULT_EGRESS_TLS_PORT;
  if (httpPort === tlsPort) {
    issues.push({
      // At whichever of the two the file writes (both equal: at least one is written).
      path: ['egress', e.tlsPort === undefined ? 'httpPort' : 'tlsPort'],
      message: `the gateway's tls port must differ from its http port (both ${httpPort})`,
    });
  }
  const gateway = str(e.gateway) ?? '';
  // The gateway's own default (`ferry gateway`: its service account is the Gateway's name).
  const serviceAccount = str(e.serviceAccount) ?? gateway.split('/')[1] ?? '';
  return { egress: { gateway, serviceAccount, httpPort, tlsPort, hosts } };
}

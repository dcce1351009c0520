/**
 * What transparent capture redirects, and what it leaves alone. Defaults are Istio's
 * (https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio),
 * which are also Ferry's sidecar ports.
 */
import { CaptureError } from './capture-error.js';
import { isCidr } from './cidr.js';

export interface CaptureConfig {
  /** The sidecar's user: its own traffic must leave the pod unredirected. */
  readonly proxyUid: number;
  /** The sidecar's group, excluded as well (Istio does both). */
  readonly proxyGid: number;
  /** Where inbound TCP goes (the sidecar's inbound listener). */
  readonly inboundPort: number;
  /** Where outbound TCP goes (the sidecar's outbound listener). */
  readonly outboundPort: number;
  /** Inbound destination ports reached directly, without the sidecar; sorted, no repeats. */
  readonly excludeInboundPorts: readonly number[];
  /** Outbound destination ports that bypass the sidecar; sorted, no repeats. */
  readonly excludeOutboundPorts: readonly number[];
  /** Outbound destination networks that bypass the sidecar, IPv4 and IPv6 mixed. */
  readonly excludeOutboundCidrs: readonly string[];
  /** Install the IPv6 rules (ip6tables) as well as the IPv4 ones. */
  readonly ipv6: boolean;
}

export const PROXY_UID = 1337;
export const INBOUND_CAPTURE_PORT = 15006;
export const OUTBOUND_CAPTURE_PORT = 15001;
/**
 * The sidecar's metrics (15020) and readiness (15021) ports are reached from outside the
 * pod (Prometheus, the kubelet's probes) and are always left out of inbound capture.
 */
export const ALWAYS_EXCLUDED_INBOUND_PORTS: readonly number[] = [15020, 15021];

export type CaptureOptions = Partial<CaptureConfig>;

function checkPort(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new CaptureError('FERRY_CAPTURE_BAD_OPTION', `${what}: ${n} is not a port (1-65535)`);
  }
  return n;
}

function checkId(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 4294967294) {
    throw new CaptureError('FERRY_CAPTURE_BAD_OPTION', `${what}: ${n} is not a user or group id`);
  }
  return n;
}

function ports(what: string, list: readonly number[]): number[] {
  return [...new Set(list.map((p) => checkPort(what, p)))].sort((a, b) => a - b);
}

/** Fills in the defaults and checks every value; throws FERRY_CAPTURE_BAD_OPTION. */
export function captureConfig(o: CaptureOptions = {}): CaptureConfig {
  const cidrs = [...new Set(o.excludeOutboundCidrs ?? [])];
  for (const c of cidrs) {
    if (!isCidr(c)) {
      throw new CaptureError(
        'FERRY_CAPTURE_BAD_OPTION',
        `excluded outbound CIDR "${c}" is not a CIDR`,
      );
    }
  }
  const proxyUid = checkId('proxy uid', o.proxyUid ?? PROXY_UID);
  return {
    proxyUid,
    proxyGid: checkId('proxy gid', o.proxyGid ?? proxyUid),
    inboundPort: checkPort('inbound port', o.inboundPort ?? INBOUND_CAPTURE_PORT),
    outboundPort: checkPort('outbound port', o.outboundPort ?? OUTBOUND_CAPTURE_PORT),
    excludeInboundPorts: ports('excluded inbound port', [
      ...ALWAYS_EXCLUDED_INBOUND_PORTS,
      ...(o.excludeInboundPorts ?? []),
    ]),
    excludeOutboundPorts: ports('excluded outbound port', o.excludeOutboundPorts ?? []),
    excludeOutboundCidrs: cidrs,
    ipv6: o.ipv6 ?? true,
  };
}

/** A comma-separated port list as a flag gives it ("8081,9090"); '' is none. */
export function parsePorts(what: string, value: string | undefined): number[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((item) => {
    const s = item.trim();
    if (!/^\d+$/.test(s)) {
      throw new CaptureError(
        'FERRY_CAPTURE_BAD_OPTION',
        `${what}: "${s}" is not a port (a comma-separated list is expected, e.g. 8081,9090)`,
      );
    }
    return checkPort(what, Number(s));
  });
}

/** A comma-separated CIDR list ("10.0.0.0/8,fd00::/8"); '' is none. */
export function parseCidrs(what: string, value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((item) => {
    const s = item.trim();
    if (!isCidr(s)) {
      throw new CaptureError('FERRY_CAPTURE_BAD_OPTION', `${what}: "${s}" is not a CIDR`);
    }
    return s;
  });
}

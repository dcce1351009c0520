/**
 * Gateway and GatewayClass: listeners with their TLS and allowedRoutes, checked against the
 * rules the CRDs state in CEL (a TLS block where the protocol needs one, no hostname on TCP).
 * https://gateway-api.sigs.k8s.io/reference/spec/#listener
 */

import { int, list, record, str, stringMap } from '../parsed-data/index.js';
import type { GatewayApiIssue } from './issue.js';
import type {
  AllowedRoutes,
  Gateway,
  GatewayClass,
  LabelSelector,
  Listener,
  ListenerProtocol,
  ObjectMeta,
  TlsMode,
} from './model.js';
import { checkUnique, type Path, readSecretRef } from './normalize-refs.js';

const PROTOCOLS: readonly ListenerProtocol[] = ['HTTP', 'HTTPS', 'TLS', 'TCP'];

export function normalizeGatewayClass(meta: ObjectMeta, spec: unknown): GatewayClass {
  return {
    kind: 'GatewayClass',
    metadata: meta,
    controllerName: str(record(spec).controllerName) ?? '',
  };
}

export function normalizeGateway(
  meta: ObjectMeta,
  spec: unknown,
  path: Path,
  issues: GatewayApiIssue[],
): Gateway {
  const s = record(spec);
  const raw = list(s.listeners);
  const listeners = raw.map((l, i) => readListener(l, meta, [...path, 'listeners', i], issues));
  checkUnique(
    listeners.map((l) => l.name),
    'listener name',
    (i) => [...path, 'listeners', i, 'name'],
    issues,
  );
  return {
    kind: 'Gateway',
    metadata: meta,
    gatewayClassName: str(s.gatewayClassName) ?? '',
    listeners,
  };
}

function readListener(
  raw: unknown,
  meta: ObjectMeta,
  path: Path,
  issues: GatewayApiIssue[],
): Listener {
  const l = record(raw);
  const given = str(l.protocol) ?? 'HTTP';
  const protocol = PROTOCOLS.find((p) => p === given);
  if (protocol === undefined && given === 'UDP') {
    issues.push({ path: [...path, 'protocol'], message: 'Ferry does not proxy UDP' });
  }
  const hostname = str(l.hostname);
  if (hostname !== undefined && (given === 'TCP' || given === 'UDP')) {
    issues.push({
      path: [...path, 'hostname'],
      message: `a ${given} listener cannot have a hostname (nothing in the connection names one)`,
    });
  }
  const tls = readTls(l.tls, meta, protocol, [...path, 'tls'], issues);
  return {
    name: str(l.name) ?? '',
    ...(hostname !== undefined ? { hostname } : {}),
    port: int(l.port) ?? 0,
    protocol: protocol ?? 'HTTP',
    ...(tls ? { tls } : {}),
    allowedRoutes: readAllowedRoutes(l.allowedRoutes, [...path, 'allowedRoutes'], issues),
  };
}

function readTls(
  raw: unknown,
  meta: ObjectMeta,
  protocol: ListenerProtocol | undefined,
  path: Path,
  issues: GatewayApiIssue[],
): Listener['tls'] {
  const needsTls = protocol === 'HTTPS' || protocol === 'TLS';
  if (raw === undefined) {
    if (needsTls) {
      issues.push({ path, message: `protocol ${protocol} needs tls (mode and certificateRefs)` });
    }
    return undefined;
  }
  if (!needsTls) {
    issues.push({ path, at: 'key', message: `tls is only for HTTPS and TLS listeners` });
    return undefined;
  }
  const t = record(raw);
  const mode: TlsMode = str(t.mode) === 'Passthrough' ? 'Passthrough' : 'Terminate';
  const certificateRefs = list(t.certificateRefs).map((r) => readSecretRef(r, meta));
  if (protocol === 'HTTPS' && mode === 'Passthrough') {
    issues.push({
      path: [...path, 'mode'],
      message: 'an HTTPS listener terminates TLS; use protocol TLS for Passthrough',
    });
  }
  // A TLS listener may terminate too (the spec's TLSRouteModeTerminate): the gateway ends
  // the TLS and its TLSRoutes' backends get the cleartext stream.
  if (mode === 'Terminate' && certificateRefs.length === 0) {
    issues.push({ path, message: 'mode Terminate needs at least one certificateRefs entry' });
  }
  if (mode === 'Passthrough' && certificateRefs.length > 0) {
    issues.push({
      path: [...path, 'certificateRefs'],
      at: 'key',
      message: 'mode Passthrough does not use certificates',
    });
  }
  return { mode, certificateRefs };
}

function readAllowedRoutes(raw: unknown, path: Path, issues: GatewayApiIssue[]): AllowedRoutes {
  const a = record(raw);
  const ns = record(a.namespaces);
  const from = str(ns.from) ?? 'Same';
  const kinds = list(a.kinds).map((k) => {
    const o = record(k);
    return {
      group: str(o.group) ?? 'gateway.networking.k8s.io',
      kind: str(o.kind) ?? '',
    };
  });
  if (from === 'Selector') {
    if (ns.selector === undefined) {
      issues.push({ path: [...path, 'namespaces'], message: 'from Selector needs a selector' });
    }
    return { namespaces: { from, selector: readSelector(ns.selector) }, kinds };
  }
  return { namespaces: { from: from === 'All' ? 'All' : 'Same' }, kinds };
}

function readSelector(raw: unknown): LabelSelector {
  const s = record(raw);
  return {
    matchLabels: stringMap(s.matchLabels),
    matchExpressions: list(s.matchExpressions).map((e) => {
      const o = record(e);
      const op = str(o.operator);
      return {
        key: str(o.key) ?? '',
        operator: op === 'NotIn' || op === 'Exists' || op === 'DoesNotExist' ? op : 'In',
        values: list(o.values).filter((v): v is string => typeof v === 'string'),
      };
    }),
  };
}

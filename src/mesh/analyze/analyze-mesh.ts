/**
 * `ferry analyze`: what is wrong with a mesh file beyond what makes it invalid. Each check
 * reads the validated model and points at the field in the file; the checks that need the
 * running mesh (endpoints, who calls whom) run when the control plane supplies a LiveView.
 */

import { type Data, list, record } from '../../parsed-data/index.js';
import { type FieldPath, formatFieldPath } from '../field-path.js';
import { effectiveMtls, type MeshConfig, type Service, serviceKey } from '../model.js';
import { parseMesh } from '../parse-mesh.js';
import { readYaml } from '../yaml-source.js';
import { MESSAGES, type MessageType } from './codes.js';
import type { Finding } from './finding.js';
import { matchCovers, matchesOf } from './route-shadowing.js';

/** What only the running control plane knows. */
export interface LiveView {
  /** Endpoints the service has now (the file's, registered workloads', the cluster's). */
  endpointCount(service: Service): number;
  /** Proxyless gRPC clients that subscribed to the service, with what they asked for. */
  proxylessCallers(service: Service): readonly string[];
}

interface Raw {
  readonly type: MessageType;
  readonly path: FieldPath;
  readonly message: string;
}

export interface AnalysisResult {
  readonly findings: readonly Finding[];
  /** Whether the file was valid, so that the model checks ran. */
  readonly valid: boolean;
}

/** Analyzes a mesh file's text; `file` names it in the findings. */
export function analyzeMesh(text: string, file: string, live?: LiveView): AnalysisResult {
  const parsed = parseMesh(text, file);
  if (!parsed.ok) {
    return {
      valid: false,
      findings: parsed.errors.map((e) => ({
        ...(e.kind === 'unknown-subset' ? MESSAGES.unknownSubset : MESSAGES.invalid),
        file,
        line: e.line,
        column: e.column,
        field: e.field,
        message: e.message,
      })),
    };
  }
  const yaml = readYaml(text);
  const data = yaml.ok ? yaml.source.data : {};
  const findings = checkConfig(parsed.config, data, live).map((r): Finding => {
    const at = yaml.ok ? yaml.source.locate({ path: r.path, message: r.message }) : undefined;
    return {
      ...r.type,
      file,
      line: at?.line ?? 0,
      column: at?.column ?? 0,
      field: formatFieldPath(r.path),
      message: r.message,
    };
  });
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { valid: true, findings };
}

/** Every check over a valid model; `data` is the file as written (for explicit fields). */
export function checkConfig(config: MeshConfig, data: unknown, live?: LiveView): Raw[] {
  const raw = list(record(data).services);
  const out: Raw[] = [];
  config.services.forEach((service, i) => {
    const at: FieldPath = ['services', i];
    const given = record(raw[i]);
    out.push(...shadowedRoutes(service, at));
    out.push(...weights(service, at, given));
    out.push(...authorization(service, config, at));
    if (live) out.push(...liveChecks(service, config, at, given, live));
  });
  out.push(...unusedSubsets(config));
  return out;
}

function routeName(service: Service, j: number): string {
  return service.routes[j]?.name ? `'${service.routes[j]?.name}'` : `#${j + 1}`;
}

function shadowedRoutes(service: Service, at: FieldPath): Raw[] {
  const out: Raw[] = [];
  service.routes.forEach((route, j) => {
    const by = new Set<number>();
    const covered = matchesOf(route).every((m) => {
      for (let i = 0; i < j; i++) {
        const earlier = service.routes[i];
        if (earlier && matchesOf(earlier).some((e) => matchCovers(e, m))) {
          by.add(i);
          return true;
        }
      }
      return false;
    });
    if (!covered) return;
    const names = [...by].map((i) => routeName(service, i)).join(' and ');
    out.push({
      type: MESSAGES.shadowedRoute,
      path: [...at, 'routes', j],
      message: `route ${routeName(service, j)} of service '${service.name}' is never used: route ${names} before it matches every request it would`,
    });
  });
  return out;
}

function weights(service: Service, at: FieldPath, given: Data): Raw[] {
  const out: Raw[] = [];
  const rawRoutes = list(given.routes);
  service.routes.forEach((route, j) => {
    if (route.backends.length < 2) return;
    const explicit = list(record(rawRoutes[j]).backends).some(
      (b) => record(b).weight !== undefined,
    );
    const total = route.backends.reduce((n, b) => n + b.weight, 0);
    if (!explicit || total === 100 || total === 0) return;
    const shares = route.backends
      .map((b) => `${b.subset ?? b.service} ${((100 * b.weight) / total).toFixed(1)}%`)
      .join(', ');
    out.push({
      type: MESSAGES.weightsNotHundred,
      path: [...at, 'routes', j, 'backends'],
      message: `the weights of route ${routeName(service, j)} add up to ${total}, not 100: the split is ${shares}`,
    });
  });
  return out;
}

/**
 * Why no request could have this principal, or undefined when one could. (Paths and methods
 * that can never match are already refused when the file is loaded.)
 */
function impossiblePrincipal(
  p: { exact: string } | { prefix: string },
  trustDomain: string,
  mtlsOff: boolean,
): string | undefined {
  if (mtlsOff) return 'the service has mTLS DISABLE, so no caller has a peer identity';
  const own = `spiffe://${trustDomain}/`;
  const value = 'exact' in p ? p.exact : p.prefix;
  const fits =
    'exact' in p ? value.startsWith(own) : value.startsWith(own) || own.startsWith(value);
  return fits ? undefined : `'${value}' is outside the mesh's trust domain ${trustDomain}`;
}

function authorization(service: Service, config: MeshConfig, at: FieldPath): Raw[] {
  const out: Raw[] = [];
  const mtlsOff = effectiveMtls(service, config.mesh) === 'DISABLE';
  (service.authorization ?? []).forEach((rule, r) => {
    const ruleAt = [...at, 'authorization', r];
    const reasons: Array<{ path: FieldPath; why: string }> = [];
    const sources = rule.from.map((s, f) => {
      if (s.principals.length === 0) return undefined;
      const whys = s.principals.map((p) =>
        impossiblePrincipal(p, config.mesh.trustDomain, mtlsOff),
      );
      return whys.every((w) => w !== undefined)
        ? { path: [...ruleAt, 'from', f, 'principals', 0], why: whys[0] as string }
        : undefined;
    });
    if (rule.from.length && sources.every((s) => s !== undefined)) reasons.push(sources[0]!);
    for (const reason of reasons) {
      out.push({
        type: MESSAGES.authorizationNeverMatches,
        path: reason.path,
        message: `${rule.action} rule '${rule.name}' of service '${service.name}' can never match: ${reason.why}`,
      });
    }
  });
  return out;
}

function unusedSubsets(config: MeshConfig): Raw[] {
  const used = new Set<string>();
  for (const s of config.services) {
    for (const route of s.routes) {
      for (const t of [...route.backends, ...(route.mirror ? [route.mirror] : [])]) {
        if (t.subset !== undefined) used.add(`${serviceKey(t.service, t.namespace)}|${t.subset}`);
      }
    }
  }
  const out: Raw[] = [];
  config.services.forEach((s, i) => {
    s.subsets.forEach((subset, k) => {
      if (used.has(`${serviceKey(s.name, s.namespace)}|${subset.name}`)) return;
      out.push({
        type: MESSAGES.unusedSubset,
        path: ['services', i, 'subsets', k, 'name'],
        message: `subset '${subset.name}' of service '${s.name}' is not named by any route, so no request goes to it as a subset`,
      });
    });
  });
  return out;
}

function liveChecks(
  service: Service,
  config: MeshConfig,
  at: FieldPath,
  given: Data,
  live: LiveView,
): Raw[] {
  const out: Raw[] = [];
  if (live.endpointCount(service) === 0) {
    out.push({
      type: MESSAGES.noEndpoints,
      path: [...at, 'name'],
      message: `service '${service.name}.${service.namespace}' has no endpoints: the mesh file lists none and no workload registered for it, so requests to it fail with 503`,
    });
  }
  const callers = live.proxylessCallers(service);
  if (callers.length && effectiveMtls(service, config.mesh) === 'STRICT') {
    const own = record(given.policy).mtls !== undefined;
    out.push({
      type: MESSAGES.strictForProxyless,
      path: own ? [...at, 'policy', 'mtls'] : ['mesh', 'mtls'],
      message: `service '${service.name}.${service.namespace}' is STRICT and proxyless gRPC clients call it (${callers.join(', ')}); they present no certificate, so its sidecars refuse them`,
    });
  }
  return out;
}

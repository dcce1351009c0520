/**
 * `ferry control-plane`'s command line: its help, its flags, and their checks (each wrong
 * flag is a UsageError naming it). Nothing here reads files or reaches the API server.
 */
import { parseArgs } from 'node:util';
import type {
  ControlPlaneOptions,
  KubernetesOptions,
  WebhookOptions,
} from '../controlplane/index.js';
import { DEFAULT_PROXY_IMAGE, isQuantity } from '../kube/inject/index.js';
import { parseDuration } from '../mesh/index.js';
import { parsePort, UsageError } from './args.js';

export const CONTROL_PLANE_HELP = `Usage: ferry control-plane --config FILE [options]

Runs Ferry's control plane: serves Envoy xDS v3 (ADS, state of the world and delta)
built from the mesh file, which it watches and re-applies on every valid change.

Options:
  -c, --config FILE     the mesh file (YAML)                       (required)
      --xds-port PORT   xDS gRPC port, plaintext; 0 picks one      (default 15010)
      --http-port PORT  HTTP port: /healthz /metrics /debug/*      (default 15014)
      --host ADDRESS    address to listen on                       (default 127.0.0.1)
      --ca-dir DIR      turn on the CA and the secure port; DIR keeps the root
                        (made on first start) or a plugged-in CA, and the token key
      --secure-port PORT  xDS + identity over TLS; 0 picks one      (default 15012)
      --trust-domain TD   SPIFFE trust domain      (default: the mesh file's trustDomain)
      --cert-ttl DURATION workload certificate lifetime, e.g. 1h    (default 24h)
      --allow-plaintext-registration  DEVELOPMENT ONLY: with the CA on, the plaintext
                        port still registers sidecars, without any credential
      --allow-plaintext-csr  DEVELOPMENT ONLY: with the CA on, the plaintext port
                        also signs certificate requests (tokens in the clear)
      --max-subscribed-names N  names one xDS stream may subscribe to per type;
                        more is refused with RESOURCE_EXHAUSTED      (default 100000)
      --sotw-cache-entries N  SotW response bodies kept for reuse    (default 1024)
      --sotw-cache-mib N      ...and at most this many MiB of them     (default 64)
      --debug-token-file FILE  a bearer token that lets non-loopback clients read
                        /debug/syncz, /debug/config_dump, /debug/registry
                        (default: those answer loopback clients only)
      --grace MS        how long a disconnected workload stays, ms (default 10000)
      --debounce MS     quiet period before a push, ms              (default 100)
      --warmup MS       after a start, hold sidecars that reconnect with a config this
                        long, so auto-registered workloads come back first (default 5000)
      --prometheus URL  the dashboard reads the mesh's numbers from this Prometheus
                        (default: it scrapes the sidecars itself)
      --scrape-interval MS  how often the dashboard scrapes the sidecars (default 5000)
      --log-level LEVEL trace | debug | info | warn | error        (default info)
  -h, --help            show this help

Kubernetes (the API server: --kubeconfig, else the pod's in-cluster configuration):
      --kubeconfig FILE   reach the API server with this kubeconfig (its current context)
      --kubernetes        discover Services, EndpointSlices, Pods and Namespaces; the mesh
                          file's services keep their settings and gain the cluster's endpoints
      --namespace NS      the control plane's namespace: its Secret, Service, SPIFFE ID
                          (default: the pod's namespace, else ferry-system)
      --service NAME      the control plane's Service; its DNS names go into the serving
                          certificate                          (default ferry-control-plane)
      --ca-secret NAME    turn on the CA with its root kept in this Secret of --namespace
                          (made on first start, shared by every replica); workload
                          credentials are then service-account tokens, checked by TokenReview
      --token-audience AUD  accept only service-account tokens issued for AUD (repeatable;
                          injected sidecars get tokens for the first)
      --webhook-port PORT the injection webhook, HTTPS, path /inject; needs the CA
      --webhook-config NAME the MutatingWebhookConfiguration whose caBundle the control
                          plane keeps equal to the mesh root
      --proxy-image IMAGE     injected sidecars' image      (default ${DEFAULT_PROXY_IMAGE})
      --proxy-log-level LEVEL injected sidecars' log level  (default info)
      --capture init|cni      who installs injected pods' capture rules (default init)
      --proxy-cpu Q, --proxy-memory Q  injected sidecars' requests (default 100m, 128Mi)
      --proxy-cpu-limit Q, --proxy-memory-limit Q  and limits           (default none)
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  'xds-port': { type: 'string' },
  'http-port': { type: 'string' },
  host: { type: 'string' },
  'ca-dir': { type: 'string' },
  'secure-port': { type: 'string' },
  'trust-domain': { type: 'string' },
  'cert-ttl': { type: 'string' },
  'allow-plaintext-registration': { type: 'boolean' },
  'allow-plaintext-csr': { type: 'boolean' },
  'debug-token-file': { type: 'string' },
  'max-subscribed-names': { type: 'string' },
  'sotw-cache-entries': { type: 'string' },
  'sotw-cache-mib': { type: 'string' },
  grace: { type: 'string' },
  debounce: { type: 'string' },
  warmup: { type: 'string' },
  prometheus: { type: 'string' },
  'scrape-interval': { type: 'string' },
  'log-level': { type: 'string' },
  kubeconfig: { type: 'string' },
  kubernetes: { type: 'boolean' },
  namespace: { type: 'string' },
  service: { type: 'string' },
  'ca-secret': { type: 'string' },
  'token-audience': { type: 'string', multiple: true },
  'webhook-port': { type: 'string' },
  'webhook-config': { type: 'string' },
  'proxy-image': { type: 'string' },
  'proxy-log-level': { type: 'string' },
  capture: { type: 'string' },
  'proxy-cpu': { type: 'string' },
  'proxy-memory': { type: 'string' },
  'proxy-cpu-limit': { type: 'string' },
  'proxy-memory-limit': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The sidecar resource flags and the template fields they set. */
const PROXY_RESOURCES = [
  ['proxy-cpu', 'cpu'],
  ['proxy-memory', 'memory'],
  ['proxy-cpu-limit', 'cpuLimit'],
  ['proxy-memory-limit', 'memoryLimit'],
] as const;

/** What the command line asks for, checked; the API server is not reached yet. */
export interface ControlPlaneArgs {
  readonly help: boolean;
  readonly config: string;
  readonly logLevel: string;
  /** The file holding the debug endpoints' bearer token, read at start. */
  readonly debugTokenFile?: string;
  /** Everything but the log, the kubeconfig and what follows from it. */
  readonly options: Omit<ControlPlaneOptions, 'log' | 'kubernetes'>;
  /** Present when anything needs the API server. */
  readonly kubernetes?: {
    readonly kubeconfig?: string;
    readonly settings: Omit<KubernetesOptions, 'kubeConfig'>;
  };
}

function prometheusUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {}
  throw new UsageError(`--prometheus must be an http(s) URL, got "${value}"`);
}

/** A Kubernetes object name (RFC 1123 subdomain), as the API server checks it. */
function objectName(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value))
    throw new UsageError(
      `${flag} must be a Kubernetes name (lower-case letters, digits, "-" and "."), got "${value}"`,
    );
  return value;
}

/** A namespace or Service name (RFC 1123 label: it is part of DNS names). */
function labelName(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value))
    throw new UsageError(
      `${flag} must be a DNS label (lower-case letters, digits and "-", at most 63), got "${value}"`,
    );
  return value;
}

function needs(values: Record<string, unknown>, flags: readonly string[], what: string): void {
  for (const flag of flags)
    if (values[flag] !== undefined) throw new UsageError(`--${flag} needs ${what}`);
}

/** Parses and checks the command line; throws UsageError naming the flag that is wrong. */
export function parseControlPlaneArgs(argv: readonly string[]): ControlPlaneArgs {
  const { values: v } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (v.help) return { help: true, config: '', logLevel: 'info', options: {} };
  if (!v.config) throw new UsageError('--config FILE is required');
  const caDir = v['ca-dir'];
  const caSecret = objectName('--ca-secret', v['ca-secret']);
  if (caDir !== undefined && caSecret !== undefined)
    throw new UsageError(
      'give --ca-dir or --ca-secret, not both: the CA keeps its root in one place',
    );
  if (caDir === undefined && caSecret === undefined)
    needs(
      v,
      [
        'secure-port',
        'trust-domain',
        'cert-ttl',
        'webhook-port',
        'allow-plaintext-registration',
        'allow-plaintext-csr',
      ],
      '--ca-dir DIR or --ca-secret NAME (the CA is off without them)',
    );
  if (caSecret === undefined)
    needs(v, ['token-audience'], '--ca-secret NAME (tokens are checked by TokenReview only then)');
  const webhookPort = v['webhook-port'];
  if (webhookPort === undefined)
    needs(
      v,
      [
        'webhook-config',
        'proxy-image',
        'proxy-log-level',
        'capture',
        ...PROXY_RESOURCES.map(([flag]) => flag),
      ],
      '--webhook-port PORT (they configure the injection webhook)',
    );
  const certTtlMs = v['cert-ttl'] === undefined ? undefined : parseDuration(v['cert-ttl']);
  if (v['cert-ttl'] !== undefined && (certTtlMs === undefined || certTtlMs < 1000))
    throw new UsageError(
      `--cert-ttl must be a duration of at least 1s (e.g. 1h, 24h), got "${v['cert-ttl']}"`,
    );
  const logLevel = v['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  const proxyLogLevel = v['proxy-log-level'];
  if (proxyLogLevel !== undefined && !LOG_LEVELS.includes(proxyLogLevel))
    throw new UsageError(
      `--proxy-log-level must be ${LOG_LEVELS.join(', ')}, got "${proxyLogLevel}"`,
    );
  const capture = v.capture;
  if (capture !== undefined && capture !== 'init' && capture !== 'cni')
    throw new UsageError(`--capture must be init or cni, got "${capture}"`);
  const proxyImage = v['proxy-image'];
  if (proxyImage !== undefined && !/^\S+$/.test(proxyImage))
    throw new UsageError(`--proxy-image must be an image reference, got "${proxyImage}"`);
  const resources: Record<string, string> = {};
  for (const [flag, field] of PROXY_RESOURCES) {
    const q = v[flag];
    if (q === undefined) continue;
    if (!isQuantity(q))
      throw new UsageError(
        `--${flag} must be a Kubernetes quantity (e.g. 100m, 128Mi), got "${q}"`,
      );
    resources[field] = q.trim();
  }
  const webhookConfig = objectName('--webhook-config', v['webhook-config']);
  const audiences = v['token-audience'] ?? [];
  for (const a of audiences)
    if (a.trim() === '') throw new UsageError('--token-audience must not be empty');
  const discovery = v.kubernetes === true;
  const usesApi = discovery || caSecret !== undefined || webhookConfig !== undefined;
  if (v.kubeconfig !== undefined && !usesApi)
    throw new UsageError(
      '--kubeconfig is only used with --kubernetes, --ca-secret or --webhook-config',
    );
  const webhook: WebhookOptions | undefined =
    webhookPort === undefined
      ? undefined
      : {
          port: parsePort('--webhook-port', webhookPort, 15017),
          config: webhookConfig,
          template: {
            ...(proxyImage ? { image: proxyImage } : {}),
            ...(proxyLogLevel ? { logLevel: proxyLogLevel } : {}),
            ...(capture ? { capture } : {}),
            ...resources,
          },
        };
  return {
    help: false,
    config: v.config,
    logLevel,
    ...(v['debug-token-file'] !== undefined ? { debugTokenFile: v['debug-token-file'] } : {}),
    options: {
      allowPlaintextRegistration: v['allow-plaintext-registration'] === true,
      allowPlaintextCsr: v['allow-plaintext-csr'] === true,
      limits: {
        maxSubscribedNames: positive('--max-subscribed-names', v['max-subscribed-names'], 100_000),
        sotwCacheEntries: positive('--sotw-cache-entries', v['sotw-cache-entries'], 1024),
        sotwCacheBytes: positive('--sotw-cache-mib', v['sotw-cache-mib'], 64) * 1024 * 1024,
      },
      configPath: v.config,
      host: v.host,
      xdsPort: parsePort('--xds-port', v['xds-port'], 15010),
      httpPort: parsePort('--http-port', v['http-port'], 15014),
      gracePeriodMs: parseCount('--grace', v.grace, 10_000),
      debounceMs: parseCount('--debounce', v.debounce, 100),
      warmupMs: parseCount('--warmup', v.warmup, 5000),
      prometheusUrl: prometheusUrl(v.prometheus),
      scrapeIntervalMs: parseCount('--scrape-interval', v['scrape-interval'], 5000),
      caDir,
      securePort: parsePort('--secure-port', v['secure-port'], 15012),
      trustDomain: v['trust-domain'],
      certTtlMs,
      namespace: labelName('--namespace', v.namespace),
      serviceName: labelName('--service', v.service),
      webhook,
    },
    kubernetes: usesApi
      ? {
          kubeconfig: v.kubeconfig,
          settings: {
            discovery,
            caSecret,
            tokenReview: caSecret !== undefined,
            tokenAudiences: audiences,
          },
        }
      : undefined,
  };
}

/** A whole number of at least 1. */
function positive(flag: string, value: string | undefined, fallback: number): number {
  const n = parseCount(flag, value, fallback);
  if (n < 1) throw new UsageError(`${flag} must be at least 1, got "${value}"`);
  return n;
}

function parseCount(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  return n;
}

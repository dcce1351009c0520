/**
 * The control plane, wired: mesh file -> registry (+ auto-registered workloads) ->
 * debounced, checked snapshots -> ADS streams; plus the debug HTTP port.
 */
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { MetricsScraper, PrometheusStats, type TargetSource } from '../dashboard/index.js';
import {
  CertificateAuthority,
  type CredentialVerifier,
  checkTrustDomain,
  controlPlaneSpiffeId,
  DEFAULT_FERRY_NAMESPACE,
  IdentityService,
  type IdentityTimers,
  loadCaDirectory,
  loadOperatorCa,
  loadOrCreateTokenKey,
  type OperatorCaFiles,
  ServingCertificate,
  WorkloadTokens,
} from '../identity/index.js';
import type { ClusterWatcher } from '../kube/discovery/index.js';
import { TokenReviewVerifier } from '../kube/discovery/index.js';
import type { TemplateOptions } from '../kube/inject/index.js';
import type { Logger } from '../log/index.js';
import {
  describeMeshChange,
  loadMeshFile,
  type MeshConfig,
  type MeshFileError,
  watchMeshFile,
} from '../mesh/index.js';
import { type CounterChild, MetricsRegistry, registerBuildInfo } from '../metrics/index.js';
import type { AdsLimits } from './ads-limits.js';
import { createAdsMetrics } from './ads-metrics.js';
import { AdsServer } from './ads-server.js';
import { createDebugServer } from './debug-http.js';
import {
  type GatewayApiSource,
  type Injector,
  loadOrCreateCaSecret,
  startDiscovery,
  startGatewayApi,
  startInjector,
} from './kubernetes/index.js';
import { analyzeRunning, logAnalysis } from './mesh-analysis.js';
import { RegistrationGate } from './registration-gate.js';
import { Registry } from './registry.js';
import { SecretFiles, secretsBaseDir } from './secret-files.js';
import { sidecarTargets } from './sidecar-targets.js';
import { SnapshotCache } from './snapshot-cache.js';

export interface ControlPlaneOptions {
  /** The mesh file; watched for changes. Either this or `config`. */
  readonly configPath?: string;
  readonly config?: MeshConfig;
  /** Address to bind. Default 127.0.0.1. */
  readonly host?: string;
  /** xDS gRPC port (plaintext). Default 15010; 0 picks a free port. */
  readonly xdsPort?: number;
  /** HTTP debug port. Default 15014; 0 picks a free port. */
  readonly httpPort?: number;
  readonly gracePeriodMs?: number;
  readonly debounceMs?: number;
  /**
   * After start, sidecars that reconnect with a config in hand are held (they keep serving
   * it) for this long, so that workloads which register by connecting can come back first.
   * Default 5 s; 0 turns it off.
   */
  readonly warmupMs?: number;
  /**
   * The CA directory: turns on the CA, the identity service (on both gRPC ports) and the
   * secure port. Holds the root Ferry makes on first start (or a plugged-in CA, see
   * src/identity/ca-directory.ts) and the workload-token key.
   */
  readonly caDir?: string;
  /** An operator's CA given as files, instead of what the CA directory holds. */
  readonly caFiles?: OperatorCaFiles;
  /** SPIFFE trust domain of issued certificates. Default: the mesh file's mesh.trustDomain. */
  readonly trustDomain?: string;
  /** Lifetime of workload certificates. Default 24 h. */
  readonly certTtlMs?: number;
  /** xDS + identity over TLS. Default 15012; 0 picks a free port. Needs caDir. */
  readonly securePort?: number;
  /** The control plane's namespace in its SPIFFE ID. Default ferry-system. */
  readonly namespace?: string;
  /** Extra DNS names / addresses in the serving certificate (besides host and loopback). */
  readonly serverNames?: readonly string[];
  /** How workload credentials are checked. Default: Ferry tokens keyed in the CA directory. */
  readonly credentialVerifier?: CredentialVerifier;
  /**
   * Development only: with the CA on, the plaintext port still registers workloads, without
   * any credential (anyone can then join any service). Off by default; logged at warn.
   */
  readonly allowPlaintextRegistration?: boolean;
  /**
   * A bearer token that lets clients other than loopback read /debug/config_dump,
   * /debug/registry and /debug/syncz. Absent: those answer loopback clients only.
   */
  readonly debugToken?: string;
  /** Bounds against abusive xDS clients (subscription size, SotW cache); see ads-limits.ts. */
  readonly limits?: Partial<AdsLimits>;
  /**
   * Timers of the serving certificate's renewal (tests drive it by hand). Certificate
   * validity itself always follows the real clock, as the peers checking it do.
   */
  readonly timers?: IdentityTimers;
  /** Dashboard: read the mesh's numbers from this Prometheus instead of scraping sidecars. */
  readonly prometheusUrl?: string;
  /** Dashboard: how often the sidecars are scraped. Default 5 s. */
  readonly scrapeIntervalMs?: number;
  /** Dashboard: who to scrape; default every connected sidecar that announced its metrics. */
  readonly scrapeTargets?: TargetSource;
  /** Kubernetes: the API server, and what the control plane does with it. */
  readonly kubernetes?: KubernetesOptions;
  /** The injection webhook (HTTPS), served with a certificate from the mesh CA. */
  readonly webhook?: WebhookOptions;
  /**
   * The control plane's Service (in `namespace`): its DNS names go into the serving
   * certificate, which the webhook serves too. Default ferry-control-plane.
   */
  readonly serviceName?: string;
  readonly log: Logger;
}

export interface KubernetesOptions {
  readonly kubeConfig: KubeConfig;
  /** Services, EndpointSlices, Pods and Namespaces as a source of the registry. */
  readonly discovery: boolean;
  /** Keep the CA root in this Secret of `namespace` (made on first start). */
  readonly caSecret?: string;
  /** Check workload credentials as service-account tokens, by TokenReview. */
  readonly tokenReview?: boolean;
  /** Audiences a service-account token must be issued for. */
  readonly tokenAudiences?: readonly string[];
  /** How long start-up waits for the cluster's first listing. Default 10 s. */
  readonly syncTimeoutMs?: number;
  /** First delay before a failed list or watch is tried again. Default 1 s. */
  readonly retryMs?: number;
}

export interface WebhookOptions {
  /** 15017 in cluster; 0 picks a free port. */
  readonly port: number;
  /** What injected pods get; the xDS address defaults to <service>.<namespace>.svc:15012. */
  readonly template: Omit<TemplateOptions, 'nativeSidecar'>;
  /** The MutatingWebhookConfiguration whose caBundle is kept (needs `kubernetes`). */
  readonly config?: string;
  /** How often the caBundle is checked again. Default 60 s. */
  readonly resyncMs?: number;
}

export const DEFAULT_SERVICE_NAME = 'ferry-control-plane';

const REAL_TIMERS: IdentityTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(ms, 2 ** 31 - 1));
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What the CA part of the control plane holds once started. */
export interface ControlPlaneIdentity {
  readonly ca: CertificateAuthority;
  readonly service: IdentityService;
  readonly serving: ServingCertificate;
  /** The SPIFFE ID the control plane serves the secure port with. */
  readonly spiffeId: string;
  /** Present when the CA directory keys Ferry tokens (the default verifier). */
  readonly tokens: WorkloadTokens | undefined;
  /** What checks workload credentials (CSRs and registrations alike). */
  readonly verifier: CredentialVerifier;
}

/** The control plane's own health, as /debug/checks serves it for `ferry check`. */
export interface ControlPlaneChecks {
  /** Null when the CA is off. */
  readonly ca: {
    readonly trustDomain: string;
    readonly rootNotAfter: string;
    readonly certTtlMs: number;
    readonly spiffeId: string;
    /** The secure port's own certificate; null until issued. */
    readonly servingNotAfter: string | null;
  } | null;
  /** Null without the injection webhook. */
  readonly webhook: {
    readonly port: number;
    /** The MutatingWebhookConfiguration whose caBundle is kept; null when none is named. */
    readonly config: string | null;
    /** Whether the last check found (or made) it equal to the mesh root; null before one. */
    readonly caBundleCurrent: boolean | null;
    readonly checkedAt: string | null;
  } | null;
}

/** A startup failure the CLI reports as one clear line. */
export class ControlPlaneError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

export class ControlPlane {
  private watcher: { close(): void } | undefined;
  /** The mesh file's `secrets:` files, loaded and watched (Gateway listeners' certificates). */
  private secretFiles: SecretFiles | undefined;
  private configErrorText: string | undefined;
  /** The webhook configuration's caBundle: last checked when, and found current or not. */
  private webhookBundle: { config?: string; current?: boolean; checkedAt?: Date } | undefined;

  /** Why the last edit of the mesh file was rejected, until a good one is applied. */
  get configError(): string | undefined {
    return this.configErrorText;
  }
  private reloadCounters: { applied: CounterChild; rejected: CounterChild } | undefined;
  private readonly grpcServer = new grpc.Server(GRPC_SERVER_OPTIONS);
  /** The secure port has a server of its own, so that a stream knows which port it came on. */
  private readonly secureGrpcServer = new grpc.Server(GRPC_SERVER_OPTIONS);
  private httpServer: http.Server | undefined;
  private stats: MetricsScraper | PrometheusStats | undefined;
  private discovery: ClusterWatcher | undefined;
  /** The cluster's Gateway API resources and the writer of their status (with discovery). */
  private gatewayApi: GatewayApiSource | undefined;
  private injector: Injector | undefined;
  xdsPort = 0;
  /** The injection webhook's port; 0 when it is off. */
  webhookPort = 0;
  httpPort = 0;
  /** The TLS port (xDS + identity); 0 when the CA is off. */
  securePort = 0;
  identity: ControlPlaneIdentity | undefined = undefined;

  private constructor(
    readonly registry: Registry,
    readonly cache: SnapshotCache,
    readonly ads: AdsServer,
    readonly metrics: MetricsRegistry,
    private readonly log: Logger,
    private readonly options: ControlPlaneOptions,
  ) {}

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const log = options.log;
    const initial = options.config ?? (await loadMeshFile(requirePath(options.configPath)));
    const registry = new Registry(initial, { gracePeriodMs: options.gracePeriodMs });
    const cache = new SnapshotCache(registry, { debounceMs: options.debounceMs, log });
    const secretFiles = new SecretFiles({
      baseDir: secretsBaseDir(options.configPath),
      log,
      onChange: (secrets) => registry.setTlsSecrets('files', secrets),
    });
    await secretFiles.set(initial.secrets ?? []);
    cache.start();
    const metrics = new MetricsRegistry();
    registerBuildInfo(metrics, 'pilot');
    const host = options.host ?? '127.0.0.1';
    const kube = options.kubernetes;
    // The CA comes first: who may register depends on its credential check.
    let identity: ControlPlaneIdentity | undefined;
    try {
      if (options.caDir || options.caFiles || kube?.caSecret)
        identity = await startIdentity(options, initial, host, metrics);
    } catch (err) {
      cache.stop();
      secretFiles.close();
      throw err;
    }
    const registration = new RegistrationGate({
      registry,
      verifier: identity?.verifier,
      allowPlaintext: options.allowPlaintextRegistration,
      metrics,
      log,
    });
    if (identity && options.allowPlaintextRegistration)
      log.warn(
        'INSECURE: --allow-plaintext-registration is on: any process that reaches the plaintext xDS port can register as an endpoint of any service, without a credential. For development only.',
      );
    const ads = new AdsServer({
      cache,
      registry,
      log,
      metrics: createAdsMetrics(metrics),
      controlPlaneId: 'ferry',
      warmupMs: options.warmupMs ?? 5000,
      registration,
      limits: options.limits,
    });
    const cp = new ControlPlane(registry, cache, ads, metrics, log, options);
    cp.secretFiles = secretFiles;
    cp.identity = identity;
    cp.registerMetrics();
    try {
      if (kube?.discovery) {
        cp.discovery = await cp.startDiscovery(kube, initial.mesh.domain);
        cp.gatewayApi = startGatewayApi({
          kubeConfig: kube.kubeConfig,
          log,
          retryMs: kube.retryMs,
          onConfig: (config) => registry.setClusterGatewayApi(config),
          onPublish: (fn) => cache.onPublish(fn),
          currentConfig: () => cache.config,
          namespaceLabels: (ns) => cp.discovery?.namespaceLabels(ns) ?? {},
        });
      }
      if (options.webhook && !cp.identity)
        throw new ControlPlaneError(
          'FERRY_WEBHOOK_NO_CA',
          'the injection webhook needs the CA for its certificate (a CA directory or Secret)',
        );
      await cp.listen(host, options.xdsPort ?? 15010, options.httpPort ?? 15014);
      if (cp.identity) await cp.listenSecure(host, options.securePort ?? 15012, cp.identity);
      if (options.webhook && cp.identity) await cp.startWebhook(host, options.webhook, cp.identity);
    } catch (err) {
      await cp.close();
      throw err;
    }
    if (options.configPath) {
      cp.watch(options.configPath);
      await logAnalysis(options.configPath, log);
    }
    return cp;
  }

  private registerMetrics(): void {
    const reloads = this.metrics.counter(
      'ferry_config_reloads_total',
      'Mesh file changes, by result (applied or rejected).',
      ['result'],
    );
    const applied = reloads.labels('applied');
    const rejected = reloads.labels('rejected');
    const workloads = this.metrics.gauge(
      'ferry_registered_workloads',
      'Workloads auto-registered now.',
    );
    const version = this.metrics.gauge(
      'ferry_snapshot_version',
      'Generation of the published snapshot.',
    );
    const w = workloads.labels();
    const v = version.labels();
    v.set(Number(this.cache.version));
    this.registry.watch(() => w.set(this.registry.workloads().length));
    this.cache.onPublish((ver) => v.set(Number(ver)));
    this.reloadCounters = { applied, rejected };
  }

  private watch(path: string): void {
    // A short watch debounce: an edit is usually one rename or one write.
    this.watcher = watchMeshFile(
      path,
      {
        onConfig: (config) => {
          this.configErrorText = undefined;
          this.reloadCounters?.applied.inc();
          const changes = describeMeshChange(this.registry.mesh, config);
          this.log.info({ file: path, changes }, 'mesh file changed; applying');
          this.registry.setMeshConfig(config);
          void this.secretFiles?.set(config.secrets ?? []);
          void logAnalysis(path, this.log);
          // Discovered host names end in the mesh's domain.
          this.discovery?.setDomain(config.mesh.domain);
        },
        onError: (err: MeshFileError) => {
          this.configErrorText = err.message;
          this.reloadCounters?.rejected.inc();
          this.log.error(
            { file: path, errors: err.message.split('\n') },
            'mesh file change rejected; the last good configuration stays in force',
          );
        },
      },
      { debounceMs: 20 },
    );
  }

  private async listenSecure(
    host: string,
    port: number,
    identity: ControlPlaneIdentity,
  ): Promise<void> {
    if (port !== 0) await assertPortFree('secure (TLS)', host, port);
    this.ads.register(this.secureGrpcServer, 'tls');
    identity.service.register(this.secureGrpcServer);
    this.securePort = await new Promise<number>((resolve, reject) => {
      this.secureGrpcServer.bindAsync(
        `${host}:${port}`,
        identity.serving.serverCredentials(),
        (err, bound) => (err ? reject(portError('secure (TLS)', host, port, err)) : resolve(bound)),
      );
    });
    this.log.info(
      { secure: `${host}:${this.securePort}`, spiffeId: identity.spiffeId },
      'control plane listening with TLS (xDS and identity)',
    );
  }

  private async startDiscovery(kube: KubernetesOptions, domain: string): Promise<ClusterWatcher> {
    const failures = this.metrics.counter(
      'ferry_kubernetes_watch_failures_total',
      'Kubernetes lists and watches that failed (each is retried), by kind.',
      ['kind'],
    );
    const services = this.metrics
      .gauge('ferry_kubernetes_services', 'Services discovered in the cluster.')
      .labels();
    return startDiscovery({
      kubeConfig: kube.kubeConfig,
      domain,
      onServices: (discovered) => {
        services.set(discovered.length);
        this.registry.setClusterServices(discovered);
      },
      onWatchError: (kind) => failures.labels(kind).inc(),
      log: this.log,
      syncTimeoutMs: kube.syncTimeoutMs,
      retryMs: kube.retryMs,
    });
  }

  private async startWebhook(
    host: string,
    webhook: WebhookOptions,
    identity: ControlPlaneIdentity,
  ): Promise<void> {
    const o = this.options;
    if (webhook.port !== 0) await assertPortFree('webhook (HTTPS)', host, webhook.port);
    const namespace = o.namespace ?? DEFAULT_FERRY_NAMESPACE;
    const service = o.serviceName ?? DEFAULT_SERVICE_NAME;
    const discovery = this.discovery;
    const reviews = this.metrics.counter(
      'ferry_injection_reviews_total',
      'AdmissionReviews the injection webhook answered, by result (injected, skipped, refused, malformed).',
      ['result'],
    );
    const bundleFailures = this.metrics
      .counter(
        'ferry_webhook_ca_bundle_failures_total',
        'Checks of the webhook configuration’s caBundle that failed (retried a minute later).',
      )
      .labels();
    this.webhookBundle = webhook.config ? { config: webhook.config } : undefined;
    this.injector = await startInjector({
      port: webhook.port,
      host,
      serving: identity.serving,
      caBundle: identity.ca.roots.join(''),
      template: {
        xdsAddress: `${service}.${namespace}.svc:15012`,
        // Service-account tokens are what this control plane accepts (TokenReview): injected
        // sidecars get one, and the root to trust the secure port with.
        ...(o.kubernetes?.tokenReview
          ? {
              identity: {
                rootPem: identity.ca.roots.join(''),
                trustDomain: identity.ca.trustDomain,
                tokenAudience: o.kubernetes.tokenAudiences?.[0],
                controlPlaneNamespace: namespace,
              },
            }
          : {}),
        ...webhook.template,
      },
      kubeConfig: o.kubernetes?.kubeConfig,
      webhookConfig: webhook.config,
      resyncMs: webhook.resyncMs,
      namespaceLabels: discovery ? (ns) => discovery.namespaceLabels(ns) : undefined,
      onReview: (result) => reviews.labels(result).inc(),
      onCaBundleFailure: () => {
        bundleFailures.inc();
        this.webhookBundle = { ...this.webhookBundle, current: false, checkedAt: new Date() };
      },
      onCaBundleCurrent: () => {
        this.webhookBundle = { ...this.webhookBundle, current: true, checkedAt: new Date() };
      },
      log: this.log,
    });
    this.webhookPort = this.injector.port;
  }

  private async listen(host: string, xdsPort: number, httpPort: number): Promise<void> {
    this.ads.register(this.grpcServer, 'plaintext');
    this.identity?.service.register(this.grpcServer);
    // grpc-js reports a busy port vaguely (and logs it itself), so ask the OS first.
    if (xdsPort !== 0) await assertPortFree('xDS', host, xdsPort);
    this.xdsPort = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(
        `${host}:${xdsPort}`,
        grpc.ServerCredentials.createInsecure(),
        (err, port) => {
          if (err) {
            reject(portError('xDS', host, xdsPort, err));
          } else resolve(port);
        },
      );
    });
    const o = this.options;
    const stats = o.prometheusUrl
      ? new PrometheusStats({ url: o.prometheusUrl })
      : new MetricsScraper({
          targets: o.scrapeTargets ?? (() => sidecarTargets(this.ads)),
          intervalMs: o.scrapeIntervalMs ?? 5000,
          log: this.log,
        });
    if (stats instanceof MetricsScraper) stats.start();
    this.stats = stats;
    const server = createDebugServer({
      ads: this.ads,
      cache: this.cache,
      registry: this.registry,
      metrics: this.metrics,
      configError: () => this.configErrorText,
      checks: () => this.checks(),
      analyze: o.configPath
        ? () => analyzeRunning(o.configPath as string, this.registry, this.ads)
        : undefined,
      dashboard: stats,
      debugToken: o.debugToken,
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(portError('HTTP', host, httpPort, err)));
      server.listen(httpPort, host, () => resolve());
    });
    this.httpServer = server;
    this.httpPort = (server.address() as AddressInfo).port;
    this.log.info(
      { xds: `${host}:${this.xdsPort}`, http: `${host}:${this.httpPort}` },
      'control plane listening',
    );
  }

  /** What `ferry check` asks of the control plane itself: its CA and its webhook. */
  checks(): ControlPlaneChecks {
    const id = this.identity;
    const bundle = this.webhookBundle;
    return {
      ca: id
        ? {
            trustDomain: id.ca.trustDomain,
            rootNotAfter: id.ca.notAfter.toISOString(),
            certTtlMs: id.ca.certTtlMs,
            spiffeId: id.spiffeId,
            servingNotAfter: id.serving.notAfter?.toISOString() ?? null,
          }
        : null,
      webhook:
        this.injector !== undefined
          ? {
              port: this.webhookPort,
              config: bundle?.config ?? null,
              caBundleCurrent: bundle?.current ?? null,
              checkedAt: bundle?.checkedAt?.toISOString() ?? null,
            }
          : null,
    };
  }

  /** Stops watching, closes every stream and both ports. */
  async close(): Promise<void> {
    this.watcher?.close();
    this.secretFiles?.close();
    await this.injector?.close();
    await this.discovery?.close();
    await this.gatewayApi?.close();
    if (this.stats instanceof MetricsScraper) this.stats.stop();
    this.identity?.serving.close();
    this.cache.stop();
    this.ads.close();
    await Promise.all([shutdown(this.grpcServer), shutdown(this.secureGrpcServer)]);
    const server = this.httpServer;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

/** Loads (or makes) the CA, the credential check and the serving certificate. */
async function startIdentity(
  options: ControlPlaneOptions,
  mesh: MeshConfig,
  host: string,
  metrics: MetricsRegistry,
): Promise<ControlPlaneIdentity> {
  const log = options.log;
  const trustDomain = checkTrustDomain(options.trustDomain ?? mesh.mesh.trustDomain);
  const timers = options.timers ?? REAL_TIMERS;
  const kube = options.kubernetes;
  const namespace = options.namespace ?? DEFAULT_FERRY_NAMESPACE;
  const material = options.caFiles
    ? await loadOperatorCa(options.caFiles)
    : kube?.caSecret
      ? (
          await loadOrCreateCaSecret({
            api: kube.kubeConfig.makeApiClient(CoreV1Api),
            namespace,
            name: kube.caSecret,
            trustDomain,
            log,
          })
        ).material
      : (await loadCaDirectory(options.caDir ?? '', { trustDomain, log })).material;
  const ca = new CertificateAuthority(material, { trustDomain, certTtlMs: options.certTtlMs });
  const tokens =
    options.caDir !== undefined
      ? new WorkloadTokens(loadOrCreateTokenKey(options.caDir))
      : undefined;
  const verifier =
    options.credentialVerifier ??
    (kube?.tokenReview
      ? new TokenReviewVerifier({
          api: kube.kubeConfig.makeApiClient(AuthenticationV1Api),
          audiences: kube.tokenAudiences,
        })
      : tokens);
  if (!verifier)
    throw new ControlPlaneError(
      'FERRY_NO_CREDENTIALS',
      'the CA is on but nothing checks workload credentials: give a CA directory (--ca-dir) or check service-account tokens by TokenReview',
    );
  const service = new IdentityService({ ca, verifier, metrics, log });
  const spiffeId = controlPlaneSpiffeId(trustDomain, namespace);
  // The Service's names, as clients in the cluster (and the API server calling the webhook,
  // at <service>.<namespace>.svc) reach the control plane.
  const serviceName = options.serviceName ?? DEFAULT_SERVICE_NAME;
  const serviceNames = [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.${mesh.mesh.domain}`,
  ];
  const unspecified = host === '0.0.0.0' || host === '::';
  const hosts = [
    ...new Set([
      'localhost',
      '127.0.0.1',
      '::1',
      ...(unspecified ? [] : [host]),
      ...serviceNames,
      ...(options.serverNames ?? []),
    ]),
  ];
  const serving = new ServingCertificate({ ca, spiffeId, hosts, log, timers });
  await serving.start();
  return { ca, service, serving, spiffeId, tokens, verifier };
}

const GRPC_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
};

/** Closes a gRPC server: gracefully, then by force after a second. */
function shutdown(server: grpc.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 1000).unref();
  });
}

function requirePath(path: string | undefined): string {
  if (!path) throw new ControlPlaneError('FERRY_NO_CONFIG', 'no mesh file given (--config FILE)');
  return path;
}

function portError(what: string, host: string, port: number, err: Error): ControlPlaneError {
  const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
  return new ControlPlaneError(
    inUse ? 'FERRY_PORT_IN_USE' : 'FERRY_LISTEN_FAILED',
    inUse
      ? `${what} port ${host}:${port} is already in use`
      : `cannot listen on ${what} port ${host}:${port}: ${err.message}`,
  );
}

function assertPortFree(what: string, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => reject(portError(what, host, port, err)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * The control plane, composed: mesh file -> registry (+ auto-registered workloads) ->
 * debounced, checked snapshots -> ADS streams on the plaintext port and, with the CA, the
 * secure port; plus the debug HTTP port, Kubernetes discovery and the injection webhook.
 * Each part is a file of its own; this one wires them and owns start and close.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClusterWatcher } from '../kube/discovery/index.js';
import type { Logger } from '../log/index.js';
import { loadMeshFile } from '../mesh/index.js';
import { MetricsRegistry, registerBuildInfo } from '../metrics/index.js';
import { createAdsMetrics } from './ads-metrics.js';
import { AdsServer } from './ads-server.js';
import { startClusterDiscovery } from './cluster-discovery.js';
import { type ControlPlaneChecks, controlPlaneChecks } from './control-plane-checks.js';
import { ControlPlaneError } from './control-plane-error.js';
import { type ControlPlaneIdentity, startIdentity } from './control-plane-identity.js';
import { registerControlPlaneMetrics } from './control-plane-metrics.js';
import type { ControlPlaneOptions } from './control-plane-options.js';
import { type DebugPort, listenDebugPort } from './debug-port.js';
import { bindGrpc, GRPC_SERVER_OPTIONS, shutdownGrpc } from './grpc-port.js';
import { InjectionWebhook } from './injection-webhook.js';
import { type GatewayApiSource, startGatewayApi, TlsSecretSource } from './kubernetes/index.js';
import { analyzeRunning, logAnalysis } from './mesh-analysis.js';
import { MeshFileReload } from './mesh-file-reload.js';
import { RegistrationGate } from './registration-gate.js';
import { Registry } from './registry.js';
import { SecretFiles, secretsBaseDir } from './secret-files.js';
import { SnapshotCache } from './snapshot-cache.js';

export class ControlPlane {
  private reload: MeshFileReload | undefined;
  /** The mesh file's `secrets:` files, loaded and watched (Gateway listeners' certificates). */
  private secretFiles: SecretFiles | undefined;
  private readonly grpcServer = new grpc.Server(GRPC_SERVER_OPTIONS);
  /** The secure port has a server of its own, so that a stream knows which port it came on. */
  private readonly secureGrpcServer = new grpc.Server(GRPC_SERVER_OPTIONS);
  private debugPort: DebugPort | undefined;
  private discovery: ClusterWatcher | undefined;
  /** The cluster's Gateway API resources and the writer of their status (with discovery). */
  private gatewayApi: GatewayApiSource | undefined;
  /** The cluster's kubernetes.io/tls Secrets: Gateway listeners' certificates (with discovery). */
  private tlsSecrets: TlsSecretSource | undefined;
  private webhook: InjectionWebhook | undefined;
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

  /** Why the last edit of the mesh file was rejected, until a good one is applied. */
  get configError(): string | undefined {
    return this.reload?.error;
  }

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
    if (identity && options.allowPlaintextCsr)
      log.warn(
        'INSECURE: --allow-plaintext-csr is on: the plaintext xDS port signs certificate requests, whose tokens cross the network in the clear. For development only.',
      );
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
    const reloadCounters = registerControlPlaneMetrics(metrics, registry, cache);
    const cp = new ControlPlane(registry, cache, ads, metrics, log, options);
    cp.secretFiles = secretFiles;
    cp.identity = identity;
    try {
      if (kube?.discovery) {
        cp.discovery = await startClusterDiscovery(
          kube,
          initial.mesh.domain,
          registry,
          metrics,
          log,
        );
        cp.gatewayApi = startGatewayApi({
          kubeConfig: kube.kubeConfig,
          log,
          retryMs: kube.retryMs,
          onConfig: (config) => registry.setClusterGatewayApi(config),
          onPublish: (fn) => cache.onPublish(fn),
          currentConfig: () => cache.config,
          namespaceLabels: (ns) => cp.discovery?.namespaceLabels(ns) ?? {},
        });
        cp.tlsSecrets = new TlsSecretSource({
          kubeConfig: kube.kubeConfig,
          log,
          retryMs: kube.retryMs,
          onChange: (secrets) => registry.setTlsSecrets('kubernetes', secrets),
        });
        // Not awaited, as the Gateway API watch: the mesh is served meanwhile.
        void cp.tlsSecrets.start();
      }
      if (options.webhook && !cp.identity)
        throw new ControlPlaneError(
          'FERRY_WEBHOOK_NO_CA',
          'the injection webhook needs the CA for its certificate (a CA directory or Secret)',
        );
      await cp.listen(host, options.xdsPort ?? 15010, options.httpPort ?? 15014);
      if (cp.identity) await cp.listenSecure(host, options.securePort ?? 15012, cp.identity);
      if (options.webhook && cp.identity) {
        cp.webhook = await InjectionWebhook.start(
          host,
          options.webhook,
          cp.identity,
          options,
          cp.discovery,
          metrics,
          log,
        );
        cp.webhookPort = cp.webhook.port;
      }
    } catch (err) {
      await cp.close();
      throw err;
    }
    if (options.configPath) {
      cp.reload = new MeshFileReload(options.configPath, {
        registry,
        counters: reloadCounters,
        log,
        applied: (config) => {
          void cp.secretFiles?.set(config.secrets ?? []);
          // Discovered host names end in the mesh's domain.
          cp.discovery?.setDomain(config.mesh.domain);
        },
      });
      await logAnalysis(options.configPath, log);
    }
    return cp;
  }

  private async listenSecure(
    host: string,
    port: number,
    identity: ControlPlaneIdentity,
  ): Promise<void> {
    this.ads.register(this.secureGrpcServer, 'tls');
    identity.service.register(this.secureGrpcServer, 'tls');
    this.securePort = await bindGrpc(
      this.secureGrpcServer,
      'secure (TLS)',
      host,
      port,
      identity.serving.serverCredentials(),
    );
    this.log.info(
      { secure: `${host}:${this.securePort}`, spiffeId: identity.spiffeId },
      'control plane listening with TLS (xDS and identity)',
    );
  }

  private async listen(host: string, xdsPort: number, httpPort: number): Promise<void> {
    this.ads.register(this.grpcServer, 'plaintext');
    // Registered here too, so that a CSR on this port gets a reason (FERRY_CSR_PLAINTEXT)
    // rather than UNIMPLEMENTED; the service refuses it unless --allow-plaintext-csr.
    this.identity?.service.register(this.grpcServer, 'plaintext');
    this.xdsPort = await bindGrpc(
      this.grpcServer,
      'xDS',
      host,
      xdsPort,
      grpc.ServerCredentials.createInsecure(),
    );
    const o = this.options;
    this.debugPort = await listenDebugPort(
      host,
      httpPort,
      o,
      {
        ads: this.ads,
        cache: this.cache,
        registry: this.registry,
        metrics: this.metrics,
        configError: () => this.configError,
        checks: () => this.checks(),
        analyze: o.configPath
          ? () => analyzeRunning(o.configPath as string, this.registry, this.ads)
          : undefined,
        debugToken: o.debugToken,
      },
      this.log,
    );
    this.httpPort = this.debugPort.port;
    this.log.info(
      { xds: `${host}:${this.xdsPort}`, http: `${host}:${this.httpPort}` },
      'control plane listening',
    );
  }

  /** What `ferry check` asks of the control plane itself: its CA and its webhook. */
  checks(): ControlPlaneChecks {
    return controlPlaneChecks(this.identity, this.webhook);
  }

  /** Stops watching, closes every stream and both ports. */
  async close(): Promise<void> {
    this.reload?.close();
    this.secretFiles?.close();
    await this.webhook?.close();
    await this.discovery?.close();
    await this.gatewayApi?.close();
    await this.tlsSecrets?.close();
    this.identity?.serving.close();
    this.cache.stop();
    this.ads.close();
    await Promise.all([shutdownGrpc(this.grpcServer), shutdownGrpc(this.secureGrpcServer)]);
    await this.debugPort?.close();
  }
}

function requirePath(path: string | undefined): string {
  if (!path) throw new ControlPlaneError('FERRY_NO_CONFIG', 'no mesh file given (--config FILE)');
  return path;
}

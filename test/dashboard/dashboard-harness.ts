/**
 * A mesh for dashboard tests: a real control plane, real ADS streams announcing the
 * sidecars (frontend, catalog, reviews v1 and v2), a fake metrics port per sidecar, the
 * scraper fed with those as targets, and the control plane's debug HTTP server with the
 * dashboard, on 127.0.0.1:0. `traffic()` moves the counters as real sidecars would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDebugServer } from '../../src/controlplane/debug-http.js';
import { ControlPlane } from '../../src/controlplane/index.js';
import { MetricsScraper, type ScrapeTarget } from '../../src/dashboard/index.js';
import { silentLogger } from '../../src/log/index.js';
import {
  type AdsClient,
  type DiscoveryResponse,
  nodeMetadataFor,
  types,
} from '../../src/xds/index.js';
import { adsClient, openSotw, type StreamProbe } from '../support/xds-client.js';
import { FakeSidecarMetrics, type Peer } from './fake-sidecar-metrics.js';

export const PEERS = {
  frontend: { workload: 'frontend-v1', app: 'frontend', version: 'v1' },
  catalog: { workload: 'catalog-v1', app: 'catalog', version: 'v1' },
  reviewsV1: { workload: 'reviews-v1', app: 'reviews', version: 'v1' },
  reviewsV2: { workload: 'reviews-v2', app: 'reviews', version: 'v2' },
} satisfies Record<string, Peer>;

type Name = keyof typeof PEERS;

/** The harness's mesh file: reviews split 80/20 between its versions, with a mirror and a fault. */
export const HARNESS_MESH = `mesh:
  trustDomain: cluster.local
services:
  - name: frontend
    ports: [{ port: 8080, protocol: http }]
  - name: catalog
    ports: [{ port: 8080, protocol: http }]
  - name: reviews
    ports: [{ port: 8080, protocol: http }]
    subsets:
      - { name: v1, labels: { version: v1 } }
      - { name: v2, labels: { version: v2 } }
    policy:
      outlierDetection: { consecutive5xx: 3 }
    routes:
      - name: canary-pinned
        match:
          - headers: { x-canary: { exact: "true" } }
        backends:
          - { subset: v2 }
        fault:
          abort: { httpStatus: 503, percentage: 5 }
      - name: split
        match:
          - path: { prefix: /api }
        backends:
          - { subset: v1, weight: 80 }
          - { subset: v2, weight: 20 }
        mirror: { subset: v2, percentage: 5 }
`;

export class DashboardHarness {
  readonly metrics = new Map<Name, FakeSidecarMetrics>();
  private readonly probes: StreamProbe<DiscoveryResponse>[] = [];
  private client: AdsClient | undefined;
  scraper: MetricsScraper | undefined;
  private server: http.Server | undefined;
  cp: ControlPlane | undefined;
  url = '';
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'ferry-dashboard-'));
  /** The watched mesh file: write it to change (or break) the mesh. */
  readonly meshFile = path.join(this.dir, 'mesh.yaml');

  /** Writes the mesh file; the control plane applies it, or rejects it and says why. */
  writeMesh(text: string): void {
    writeFileSync(this.meshFile, text);
  }

  async start(scrapeEveryMs: number): Promise<void> {
    this.writeMesh(HARNESS_MESH);
    this.cp = await ControlPlane.start({
      configPath: this.meshFile,
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      gracePeriodMs: 300,
      warmupMs: 0,
      log: silentLogger(),
    });
    const cp = this.cp;
    this.client = adsClient(cp.xdsPort);
    for (const [i, name] of (Object.keys(PEERS) as Name[]).entries()) {
      const p = PEERS[name];
      const m = new FakeSidecarMetrics();
      await m.start();
      this.metrics.set(name, m);
      const probe = openSotw(this.client);
      probe.send({
        node: {
          id: `${p.workload}-pod`,
          metadata: nodeMetadataFor({
            service: p.app,
            namespace: 'default',
            labels: { app: p.app, version: p.version },
            serviceAccount: p.app,
            address: '127.0.0.1',
            // Each its own endpoint (address:port), as separate pods would be.
            inboundPort: 15006 + i,
            outboundPort: 15001,
            appPort: 8000,
            region: '',
            zone: '',
            health: 'HEALTHY',
          }),
        },
        type_url: types.CLUSTER,
      });
      this.probes.push(probe);
    }
    // What the lead's wiring will do: the connected sidecars, with their metrics URLs.
    const urlOf = new Map([...this.metrics].map(([n, m]) => [`${PEERS[n].workload}-pod`, m.url]));
    const targets = (): ScrapeTarget[] =>
      cp.ads.status().flatMap((s) => {
        const url = urlOf.get(s.nodeId);
        return url && s.workload
          ? [
              {
                nodeId: s.nodeId,
                workload: s.nodeId,
                service: s.workload.service,
                namespace: s.workload.namespace,
                url,
              },
            ]
          : [];
      });
    this.scraper = new MetricsScraper({
      targets,
      intervalMs: scrapeEveryMs,
      windowMs: 10 * scrapeEveryMs,
    });
    this.scraper.start();
    this.server = createDebugServer({
      ads: cp.ads,
      cache: cp.cache,
      registry: cp.registry,
      metrics: cp.metrics,
      configError: () => cp.configError,
      dashboard: this.scraper,
    });
    const server = this.server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Acknowledges the latest CDS response on every stream (the sidecars are in sync). */
  async ackAll(): Promise<void> {
    for (const p of this.probes) {
      const last = await p.latest();
      p.send({
        type_url: types.CLUSTER,
        response_nonce: last.nonce,
        version_info: last.version_info,
      });
    }
  }

  /**
   * `n` rounds of demo traffic: frontend calls catalog and reviews (v1 4 of 5, v2 1 of 5);
   * every `failEvery`th reviews call fails with 503 UF. Both sidecars of a call count it.
   */
  traffic(n: number, failEvery = 0, ms = 4): void {
    const m = (k: Name) => this.metrics.get(k) as FakeSidecarMetrics;
    for (let i = 0; i < n; i++) {
      const calls: Array<[Name, number, string]> = [['catalog', 200, '-']];
      const failed = failEvery > 0 && i % failEvery === 0;
      calls.push([
        i % 5 === 4 ? 'reviewsV2' : 'reviewsV1',
        failed ? 503 : 200,
        failed ? 'UF' : '-',
      ]);
      for (const [callee, code, flags] of calls) {
        const call = {
          source: PEERS.frontend,
          destination: PEERS[callee],
          code,
          flags,
          ms,
          mtls: true,
        };
        m('frontend').record({ ...call, reporter: 'source' });
        m(callee).record({ ...call, reporter: 'destination' });
      }
    }
  }

  /**
   * `n` TCP connections from catalog to reviews v1, each 2000 bytes in and 500 back, opened
   * and closed; both sidecars count them.
   */
  tcpTraffic(n: number): void {
    const conn = {
      source: PEERS.catalog,
      destination: PEERS.reviewsV1,
      received: 2000 * n,
      sent: 500 * n,
      opened: n,
      closed: n,
      mtls: true,
    };
    this.metrics.get('catalog')?.recordTcp({ ...conn, reporter: 'source' });
    this.metrics.get('reviewsV1')?.recordTcp({ ...conn, reporter: 'destination' });
  }

  async close(): Promise<void> {
    this.scraper?.stop();
    for (const p of this.probes) p.close();
    this.client?.close();
    const s = this.server;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await this.cp?.close();
    await Promise.all([...this.metrics.values()].map((m) => m.close()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Workload certificates from the control plane's real CA, with a 4 s lifetime, rotated at
 * half life by each sidecar's WorkloadIdentity while 10 clients keep calling through an mTLS
 * hop: no request fails, and a new connection is served with the new certificate. Identity
 * and xDS both go over the secure port, the control plane's identity checked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ControlPlane } from '../../../src/controlplane/index.js';
import {
  loadOrCreateTokenKey,
  type SidecarIdentity,
  sidecarIdentity,
  WorkloadTokens,
} from '../../../src/identity/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { sleep, waitFor } from '../../support/wait-for.js';

/** The serial of the certificate a new TLS connection to `port` is served with. */
function servedSerial(
  port: number,
  client: { key: string; chain: string; roots: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      key: client.key,
      cert: client.chain,
      ca: client.roots,
      checkServerIdentity: () => undefined,
    });
    s.once('secureConnect', () => {
      resolve(s.getPeerX509Certificate()?.serialNumber ?? '');
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe('integration: certificate rotation with the real CA under load', function () {
  this.timeout(40_000);
  let dir: string;
  let cp: ControlPlane;
  let app: HttpUpstream;
  let a: Sidecar;
  let b: Sidecar;
  const identities: SidecarIdentity[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ferry-rotation-'));
    cp = await ControlPlane.start({
      config: mesh(
        service('api', 8080, 'http', [], {
          policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000, mtls: 'STRICT' },
        }),
      ),
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      caDir: dir,
      certTtlMs: 4000,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    const tokens = new WorkloadTokens(loadOrCreateTokenKey(dir));
    const rootPem = readFileSync(path.join(dir, 'root-cert.pem'), 'utf8');
    const side = async (name: string, appPort?: number) => {
      const token = tokens.issue({ namespace: 'default', serviceAccount: name }, 3_600_000);
      const id = sidecarIdentity({
        address: `127.0.0.1:${cp.securePort}`,
        rootPem,
        trustDomain: 'cluster.local',
        workload: { namespace: 'default', serviceAccount: name },
        credential: () => token,
        log: silentLogger(),
      });
      await id.identity.start();
      identities.push(id);
      return startSidecar(cp.securePort, {
        service: name,
        serviceAccount: name,
        ...(appPort ? { appPort } : {}),
        certificates: id.identity,
        xdsCredentials: id.credentials,
      });
    };
    app = await startHttpUpstream('api-app');
    b = await side('api', app.port);
    a = await side('web');
    await waitForHosts(a, clusterName('api', 8080), 1);
  });

  after(async () => {
    agent.destroy();
    await Promise.all([a?.stop(0), b?.stop(0)]);
    for (const id of identities) id.identity.close();
    await cp?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('10 clients for 7 s across several rotations: zero failures; new connections get the new certificate', async () => {
    const first = identities[0].identity.current()!;
    const servedBefore = await servedSerial(b.ports.inbound, identities[1].identity.current()!);
    assert.equal(servedBefore.toLowerCase(), first.serialNumber.toLowerCase());
    const generationBefore = b.tls!.generation;
    let stop = false;
    const results: string[] = [];
    const workers = Array.from({ length: 10 }, async () => {
      while (!stop) {
        const r = await send(a.ports.outbound, { host: 'api:8080', agent }).catch((e: Error) => ({
          status: 0,
          body: e.message,
        }));
        results.push(String(r.status));
      }
    });
    await sleep(7000);
    stop = true;
    await Promise.all(workers);
    const rotations = b.tls!.generation - generationBefore;
    const now = identities[0].identity.current()!;
    await waitFor('a new connection to see the current certificate', async () => {
      const served = await servedSerial(b.ports.inbound, identities[1].identity.current()!);
      return served.toLowerCase() === identities[0].identity.current()!.serialNumber.toLowerCase();
    });
    console.log(
      `      ${results.length} requests: ${JSON.stringify(tally(results))}; api rotated ${rotations} times (certificate ${first.serialNumber.slice(0, 8)}… -> ${now.serialNumber.slice(0, 8)}…)`,
    );
    assert.deepEqual(tally(results), { '200': results.length });
    assert.ok(rotations >= 2, `${rotations} rotations in 7 s with a 4 s lifetime`);
    assert.notEqual(now.serialNumber, first.serialNumber);
  });
});

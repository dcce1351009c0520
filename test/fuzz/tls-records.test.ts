/**
 * Fuzzing: TLS records into the inbound mTLS port of a live sidecar process, which has its
 * identity from the control plane's CA (token, CSR) and serves a STRICT service: mutated
 * ClientHellos, valid hellos followed by garbage records, and garbage alone, with the
 * client ending at random points. The canary is a real mutual-TLS request through the
 * same port, with a certificate from the same CA.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ControlPlane } from '../../src/controlplane/index.js';
import { CA_FILES } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { mesh, service } from '../support/mesh.js';
import { fuzzSettings } from '../support/seeded-random.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { FuzzFinding, runFuzz } from './fuzz-loop.js';
import { KNOWN_CRASHES } from './known-crashes.js';
import { LiveSidecar } from './live-sidecar.js';
import { Mutator } from './mutator.js';
import { describePlan, planClient, playRaw } from './raw-session.js';
import { captureClientHellos, garbageRecord, TLS_DICTIONARY } from './tls-client-hellos.js';
import { Tokens } from './tokens.js';

const settings = fuzzSettings();
const CANARY_MS = 5000;

/** GET over mutual TLS; resolves with the raw response text (the server closes: Connection: close). */
function mtlsGet(
  port: number,
  target: string,
  creds: { key: string; cert: string; ca: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ...creds,
      ALPNProtocols: ['http/1.1'],
      checkServerIdentity: () => undefined,
    });
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(`no answer to ${target} within ${CANARY_MS} ms (have ${JSON.stringify(got)})`),
      );
    }, CANARY_MS);
    s.on('secureConnect', () =>
      s.write(`GET ${target} HTTP/1.1\r\nHost: fuzz-tls:8080\r\nConnection: close\r\n\r\n`),
    );
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

describe('fuzz: TLS records into the inbound mTLS port of a live sidecar', function () {
  this.timeout(settings.seconds * 1000 + 60_000);
  let dir: string;
  let app: EchoUpstream;
  let cp: ControlPlane;
  let sidecar: LiveSidecar;
  let creds: { key: string; cert: string; ca: string };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-fuzz-tls-'));
    app = await startEchoUpstream();
    cp = await ControlPlane.start({
      config: mesh(
        service('fuzz-tls', 8080, 'http', [], {
          policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000, mtls: 'STRICT' },
        }),
      ),
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      caDir: dir,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    const identity = cp.identity;
    assert.ok(identity);
    const tokenFile = path.join(dir, 'token');
    writeFileSync(
      tokenFile,
      identity.tokens!.issue({ namespace: 'default', serviceAccount: 'fuzz-tls' }, 3_600_000),
    );
    const issued = await identity.ca.issueLocal(
      'spiffe://cluster.local/ns/default/sa/fuzz-client',
      3_600_000,
      {},
    );
    creds = {
      key: issued.key,
      cert: issued.chain.join('\n'),
      ca: readFileSync(path.join(dir, CA_FILES.root), 'utf8'),
    };
    sidecar = await LiveSidecar.start([
      '--xds',
      `127.0.0.1:${cp.securePort}`,
      '--service',
      'fuzz-tls',
      '--service-account',
      'fuzz-tls',
      '--ca-root',
      path.join(dir, CA_FILES.root),
      '--token-file',
      tokenFile,
      '--app-port',
      String(app.port),
    ]);
  });

  after(async () => {
    await sidecar?.kill();
    await cp?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives mutated ClientHellos and garbage records; mutual TLS keeps working', async () => {
    const tokens = new Tokens();
    const mutator = new Mutator(TLS_DICTIONARY);
    const hellos = await captureClientHellos();
    const report = await runFuzz({
      name: 'tls-records',
      settings,
      concurrency: 8,
      process: () => sidecar,
      restart: () => sidecar.restart(),
      knownCrashes: KNOWN_CRASHES,
      async canary(n) {
        const target = `/canary/${tokens.forCanary(n)}`;
        const got = await mtlsGet(sidecar.ports.inbound, target, creds);
        if (!got.startsWith('HTTP/1.1 200 ') || !got.endsWith(`fz-echo GET ${target}`))
          throw new FuzzFinding(`the mTLS canary ${target} got ${JSON.stringify(got)}`);
      },
      async runCase(rng, _n, input) {
        const hello = rng.pick(hellos);
        let bytes: Buffer;
        switch (rng.int(4)) {
          case 0:
          case 1:
            bytes = mutator.mutate(rng, hello, 6);
            break;
          case 2:
            bytes = Buffer.concat([
              hello,
              garbageRecord(rng),
              ...(rng.chance(0.5) ? [garbageRecord(rng)] : []),
            ]);
            break;
          default:
            bytes = Buffer.concat(
              Array.from({ length: rng.between(1, 4) }, () => garbageRecord(rng)),
            );
        }
        const plan = planClient(rng, bytes.length);
        input(`${describePlan(plan)} ${bytes.toString('hex')}`);
        await playRaw(sidecar.ports.inbound, bytes, plan, rng);
      },
    });
    assert.ok(report.cases > 0);
  });
});

/**
 * The sidecar's WorkloadIdentity against the real identity service: first certificate,
 * renewal at half life on an injected clock, backoff on failure while the current
 * certificate stays, listeners told of each new one, and the key never shown.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import {
  CredentialRefusedError,
  createIdentityClient,
  type IssuedCertificate,
  WorkloadIdentity,
} from '../../src/identity/index.js';
import { FakeTimers } from '../support/fake-timers.js';
import { waitFor } from '../support/wait-for.js';
import {
  caInDir,
  capturingLogger,
  csrCount,
  mtlsHandshake,
  type RunningIdentityService,
  serveIdentity,
  TD,
  tempDir,
} from './support.js';

const FRONTEND = `spiffe://${TD}/ns/shop/sa/frontend`;
const CART = `spiffe://${TD}/ns/shop/sa/cart`;

/** The base64 body of a PEM key: what must never be seen outside `.key`. */
function keyBody(pem: string): string[] {
  return pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .map((l) => l.slice(8, 48));
}

describe('WorkloadIdentity', () => {
  let tmp: ReturnType<typeof tempDir>;
  let svc: RunningIdentityService;
  let token: (sa?: string) => string;
  let timers: FakeTimers;
  const identities: WorkloadIdentity[] = [];

  beforeEach(async () => {
    tmp = tempDir();
    const { ca, tokens } = await caInDir(tmp.dir, { certTtlMs: 3_600_000 });
    svc = await serveIdentity(ca, tokens);
    token = (sa = 'frontend') =>
      tokens.issue({ namespace: 'shop', serviceAccount: sa }, 86_400_000);
    timers = new FakeTimers();
    timers.time = Date.now();
  });
  afterEach(async () => {
    for (const w of identities.splice(0)) w.close();
    await svc.close();
    tmp.remove();
  });

  function identity(
    credential: () => string,
    log = capturingLogger().log,
    spiffeId: string | undefined = FRONTEND,
    maxCredentialFailures?: number,
  ): WorkloadIdentity {
    const w = new WorkloadIdentity({
      api: createIdentityClient(svc.address),
      credential,
      spiffeId,
      log,
      timers,
      random: () => 0.5,
      backoff: { baseMs: 1000, maxMs: 8000 },
      maxCredentialFailures,
    });
    identities.push(w);
    return w;
  }

  it('gets a certificate whose key it made, usable for mTLS at once', async () => {
    const w = identity(() => token());
    const cert = await w.start();
    assert.equal(cert.spiffeId, FRONTEND);
    assert.equal(w.current(), cert);
    const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
    const leaf = new X509Certificate(cert.chainPems[0] as string);
    assert.ok(spki(createPublicKey(cert.key)).equals(spki(leaf.publicKey)), 'leaf holds our key');
    const other = await identity(() => token('cart'), undefined, CART).start();
    const seen = await mtlsHandshake(cert, other, FRONTEND);
    assert.deepEqual(seen, { clientSaw: [FRONTEND], serverSaw: [CART] });
  });

  it('renews at half life with a new key, keeping the old certificate through failures with jittered backoff', async () => {
    let good = true;
    const seen: IssuedCertificate[] = [];
    const capture = capturingLogger();
    const w = identity(() => (good ? token() : 'ferry1.bogus.bogus'), capture.log);
    w.onChange((c) => seen.push(c));
    const first = await w.start();
    assert.deepEqual(seen, [first]);
    const life = first.notAfter.getTime() - first.notBefore.getTime();
    const renewAt = first.notBefore.getTime() + life / 2;
    assert.ok(Math.abs(life - 3_600_000 - 60_000) < 2_000, `lifetime ${life}`);
    assert.equal(timers.size, 1, 'the renewal is scheduled');

    timers.advance(renewAt - timers.time - 1000);
    assert.equal(timers.size, 1, 'not yet renewed a second before half life');
    assert.equal(w.generation, 1);

    // The identity service refuses the renewal: the current certificate stays in force.
    good = false;
    timers.advance(1000);
    assert.equal(timers.size, 0, 'renewal started at half life');
    await waitFor('the first retry to be scheduled', () => timers.size === 1);
    assert.equal(w.current(), first);
    assert.match(w.lastError ?? '', /gRPC status 16: FERRY_TOKEN_INVALID/);
    assert.match(capture.text(), /keeping the current certificate and retrying/);
    // Full jitter with random() = 0.5: 500 ms, then 1000 ms (the cap doubles).
    timers.advance(499);
    assert.equal(timers.size, 1, 'first retry not before 500 ms');
    timers.advance(1);
    await waitFor(
      'the second retry to be scheduled',
      () =>
        timers.size === 1 &&
        w.lastError !== undefined &&
        csrCount(svc.metrics, 'unauthenticated') === 2,
    );
    timers.advance(999);
    assert.equal(timers.size, 1, 'second retry not before 1000 ms');
    assert.equal(w.current(), first);

    good = true;
    timers.advance(1);
    await waitFor('the renewed certificate', () => w.generation === 2);
    const second = w.current() as IssuedCertificate;
    assert.notEqual(second.serialNumber, first.serialNumber);
    assert.notEqual(second.key, first.key, 'a fresh key per certificate');
    assert.deepEqual(seen, [first, second]);
    assert.equal(w.lastError, undefined);
    assert.equal(csrCount(svc.metrics, 'issued'), 2);
    assert.equal(csrCount(svc.metrics, 'unauthenticated'), 2);
    assert.equal(timers.size, 1, 'the next renewal is scheduled');
  });

  it('keeps retrying until the first certificate, then start() resolves', async () => {
    let good = false;
    const w = identity(() => (good ? token() : 'nope'));
    const started = w.start();
    await waitFor(
      'the first retry to be scheduled',
      () => w.lastError !== undefined && timers.size === 1,
    );
    assert.equal(w.current(), undefined);
    good = true;
    timers.advance(500);
    const cert = await started;
    assert.equal(cert.spiffeId, FRONTEND);
  });

  it('gives up on the first certificate after maxCredentialFailures refusals in a row, saying why', async () => {
    const capture = capturingLogger();
    const w = identity(() => 'nope', capture.log, FRONTEND, 3);
    const started = w.start();
    started.catch(() => {});
    for (let refusals = 1; refusals < 3; refusals++) {
      await waitFor(
        `refusal ${refusals}`,
        () => csrCount(svc.metrics, 'unauthenticated') === refusals && timers.size === 1,
      );
      timers.advance(8000);
    }
    const err = await started.then(
      () => assert.fail('start() resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CredentialRefusedError);
    assert.equal(err.code, 'FERRY_CREDENTIAL_REFUSED');
    assert.equal(err.attempts, 3);
    assert.match(
      err.message,
      /refused this workload's credential 3 times in a row \(gRPC status 16: FERRY_TOKEN_INVALID/,
    );
    assert.match(err.message, /check --token-file/);
    assert.equal(timers.size, 0, 'no more retries');
    assert.equal(csrCount(svc.metrics, 'unauthenticated'), 3);
    await assert.rejects(w.ready(), CredentialRefusedError);
    assert.match(
      capture.text(),
      /"hint":"check --token-file; giving up after 3 refusals in a row"/,
    );
  });

  it('refuses a certificate for another identity than the one it asked for', async () => {
    // The token proves cart; the sidecar asks for frontend: the service says no.
    const w = identity(() => token('cart'));
    void w.start();
    await waitFor('the refusal', () => w.lastError !== undefined);
    assert.match(w.lastError ?? '', /gRPC status 7: FERRY_CSR_IDENTITY/);
    assert.equal(w.current(), undefined);
  });

  it('regression: a renewal asked for as soon as start() resolves is a new request, not the first one again', async () => {
    const w = identity(() => token());
    const first = await w.start();
    // start() resolves while the first attempt is settling; renewNow() right then used to
    // return that attempt's promise, and the renewal was lost.
    await w.renewNow();
    assert.equal(w.generation, 2);
    assert.notEqual(w.current()?.serialNumber, first.serialNumber);
  });

  it('never shows the private key: not in logs, JSON, inspect, strings or errors', async () => {
    let good = true;
    const capture = capturingLogger();
    const w = identity(() => (good ? token() : 'bad'), capture.log);
    const cert = await w.start();
    good = false;
    await w.renewNow();
    good = true;
    await w.renewNow();
    const latest = w.current() as IssuedCertificate;
    const shown = [
      capture.text(),
      JSON.stringify(w),
      JSON.stringify(cert),
      JSON.stringify({ config: { identity: w, cert: latest } }),
      inspect(w, { depth: 10, showHidden: true }),
      inspect(cert, { depth: 10, showHidden: true }),
      inspect({ cert: latest }, { depth: 10 }),
      String(cert),
      `${latest}`,
      w.lastError ?? '',
    ].join('\n');
    assert.ok(capture.lines.length >= 3, 'something was logged');
    for (const key of [cert.key, latest.key]) {
      assert.match(key, /BEGIN PRIVATE KEY/);
      for (const piece of keyBody(key))
        assert.ok(!shown.includes(piece), `key material ${piece} was shown`);
    }
    assert.ok(!shown.includes('PRIVATE KEY'));
    assert.match(JSON.stringify(cert), /"key":"\[redacted\]"/);
    assert.deepEqual(Object.keys(cert).includes('key'), false);
  });
});

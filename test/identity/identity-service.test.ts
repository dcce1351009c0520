/** ferry.identity.v1 over a real gRPC socket: each success and refusal, with its count. */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import {
  buildCsr,
  type CertificateAuthority,
  createIdentityClient,
  type IdentityApi,
  readTokenKey,
  WorkloadTokens,
} from '../../src/identity/index.js';
import {
  caInDir,
  csrCount,
  mtlsHandshake,
  type RunningIdentityService,
  serveIdentity,
  TD,
  tempDir,
} from './support.js';

const FRONTEND = `spiffe://${TD}/ns/shop/sa/frontend`;
const CART = `spiffe://${TD}/ns/shop/sa/cart`;

async function p256(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

async function pem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
}

async function status(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail('expected the call to be refused');
}

describe('identity service (gRPC)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let ca: CertificateAuthority;
  let tokens: WorkloadTokens;
  let svc: RunningIdentityService;
  let client: IdentityApi;
  const token = (ns = 'shop', sa = 'frontend', ttl = 3_600_000) =>
    tokens.issue({ namespace: ns, serviceAccount: sa }, ttl);

  beforeEach(async () => {
    tmp = tempDir();
    ({ ca, tokens } = await caInDir(tmp.dir));
    svc = await serveIdentity(ca, tokens);
    client = createIdentityClient(svc.address);
  });
  afterEach(async () => {
    client.close();
    await svc.close();
    tmp.remove();
  });

  it('signs the CSR for the identity the token proves, with the trust bundle', async () => {
    const keys = await p256();
    const res = await client.createCertificate({
      csr: await buildCsr(keys, FRONTEND),
      token: token(),
    });
    assert.equal(res.cert_chain.length, 1);
    assert.deepEqual(res.trust_bundle, [...ca.roots]);
    const leaf = new X509Certificate(res.cert_chain[0] as string);
    assert.equal(leaf.subjectAltName, `URI:${FRONTEND}`);
    assert.equal(csrCount(svc.metrics, 'issued'), 1);
    // What came back works: it completes mTLS with another workload's certificate.
    const other = await client.createCertificate({
      csr: await buildCsr(await p256()),
      token: token('shop', 'cart'),
    });
    const keysOther = await p256();
    const res2 = await client.createCertificate({
      csr: await buildCsr(keysOther),
      token: token('shop', 'cart'),
    });
    assert.equal(new X509Certificate(other.cert_chain[0] as string).subjectAltName, `URI:${CART}`);
    const seen = await mtlsHandshake(
      {
        key: await pem(keys),
        chain: res.cert_chain.join('\n'),
        roots: res.trust_bundle.join('\n'),
      },
      {
        key: await pem(keysOther),
        chain: res2.cert_chain.join('\n'),
        roots: res2.trust_bundle.join('\n'),
      },
      FRONTEND,
    );
    assert.deepEqual(seen.serverSaw, [CART]);
    assert.equal(csrCount(svc.metrics, 'issued'), 3);
  });

  it('a CSR without a SAN gets the token identity', async () => {
    const res = await client.createCertificate({
      csr: await buildCsr(await p256()),
      token: token(),
    });
    assert.equal(
      new X509Certificate(res.cert_chain[0] as string).subjectAltName,
      `URI:${FRONTEND}`,
    );
  });

  it('honours a shorter asked validity', async () => {
    const t0 = Date.now();
    const res = await client.createCertificate({
      csr: await buildCsr(await p256()),
      token: token(),
      validity_seconds: 600,
    });
    const end = Date.parse(new X509Certificate(res.cert_chain[0] as string).validTo);
    assert.ok(Math.abs(end - t0 - 600_000) < 5_000, `${end - t0} ms`);
  });

  it('UNAUTHENTICATED for a forged, expired or missing token', async () => {
    const csr = await buildCsr(await p256(), FRONTEND);
    const other = tempDir();
    try {
      const forged = (await caInDir(other.dir)).tokens.issue(
        { namespace: 'shop', serviceAccount: 'frontend' },
        3_600_000,
      );
      const e1 = await status(client.createCertificate({ csr, token: forged }));
      assert.equal(e1.code, grpc.status.UNAUTHENTICATED);
      assert.match(e1.details, /FERRY_TOKEN_INVALID: the token signature does not verify/);
    } finally {
      other.remove();
    }
    const expired = new WorkloadTokens(
      // The same key, issuing as of two hours ago, for one hour.
      readTokenKey(tmp.dir),
      { now: () => Date.now() - 7_200_000 },
    ).issue({ namespace: 'shop', serviceAccount: 'frontend' }, 3_600_000);
    const e2 = await status(client.createCertificate({ csr, token: expired }));
    assert.equal(e2.code, grpc.status.UNAUTHENTICATED);
    assert.match(e2.details, /FERRY_TOKEN_EXPIRED/);
    const e3 = await status(client.createCertificate({ csr, token: '' }));
    assert.equal(e3.code, grpc.status.UNAUTHENTICATED);
    assert.match(e3.details, /not a Ferry workload token/);
    assert.equal(csrCount(svc.metrics, 'unauthenticated'), 3);
    assert.equal(csrCount(svc.metrics, 'issued'), 0);
  });

  it('FAILED_PRECONDITION for a CSR over plaintext unless allowed, before its token is checked', async () => {
    const strict = await serveIdentity(ca, tokens, undefined, false);
    const plain = createIdentityClient(strict.address);
    try {
      for (const t of [token(), 'ferry1.forged.token']) {
        const e = await status(
          plain.createCertificate({ csr: await buildCsr(await p256(), FRONTEND), token: t }),
        );
        assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
        assert.match(
          e.details,
          /^FERRY_CSR_PLAINTEXT: certificate signing requests are served over TLS only/,
        );
      }
      assert.equal(csrCount(strict.metrics, 'plaintext'), 2);
      assert.equal(csrCount(strict.metrics, 'unauthenticated'), 0, 'the token was not looked at');
      assert.equal(csrCount(strict.metrics, 'issued'), 0);
    } finally {
      plain.close();
      await strict.close();
    }
  });

  it('PERMISSION_DENIED for a CSR asking for another identity', async () => {
    const e = await status(
      client.createCertificate({ csr: await buildCsr(await p256(), CART), token: token() }),
    );
    assert.equal(e.code, grpc.status.PERMISSION_DENIED);
    assert.equal(
      e.details,
      `FERRY_CSR_IDENTITY: the CSR asks for ${CART}, but the credential proves ${FRONTEND}`,
    );
    assert.equal(csrCount(svc.metrics, 'permission_denied'), 1);
  });

  it('INVALID_ARGUMENT for a malformed CSR, a key that is not P-256, a bad signature', async () => {
    const e1 = await status(client.createCertificate({ csr: 'not a csr', token: token() }));
    assert.equal(e1.code, grpc.status.INVALID_ARGUMENT);
    assert.match(e1.details, /FERRY_CSR_MALFORMED/);
    const garbled =
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
    const e2 = await status(client.createCertificate({ csr: garbled, token: token() }));
    assert.equal(e2.code, grpc.status.INVALID_ARGUMENT);
    assert.match(e2.details, /FERRY_CSR_MALFORMED: the CSR cannot be parsed/);

    const rsaAlg = {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
    };
    const rsa = (await webcrypto.subtle.generateKey(rsaAlg, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({
      keys: rsa,
      signingAlgorithm: rsaAlg,
    });
    const e3 = await status(
      client.createCertificate({ csr: rsaCsr.toString('pem'), token: token() }),
    );
    assert.equal(e3.code, grpc.status.INVALID_ARGUMENT);
    assert.match(e3.details, /FERRY_CSR_KEY_TYPE: the CSR key is not ECDSA P-256/);

    const p384 = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const p384Csr = await x509.Pkcs10CertificateRequestGenerator.create({
      keys: p384,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    });
    const e4 = await status(
      client.createCertificate({ csr: p384Csr.toString('pem'), token: token() }),
    );
    assert.match(e4.details, /FERRY_CSR_KEY_TYPE/);

    // A valid CSR whose signature bytes are altered: the requester does not hold the key.
    const good = new x509.Pkcs10CertificateRequest(await buildCsr(await p256(), FRONTEND));
    const der = Buffer.from(good.rawData);
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0xff;
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const e5 = await status(client.createCertificate({ csr: bad, token: token() }));
    assert.equal(e5.code, grpc.status.INVALID_ARGUMENT);
    assert.match(e5.details, /FERRY_CSR_SIGNATURE: the CSR signature does not verify/);
    assert.equal(csrCount(svc.metrics, 'invalid_argument'), 5);
    assert.equal(csrCount(svc.metrics, 'issued'), 0);
  });
});

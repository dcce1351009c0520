/** An operator's own root or intermediate: loaded and used when sound, refused clearly when not. */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import {
  CA_FILES,
  CertificateAuthority,
  IdentityError,
  loadCaDirectory,
  loadOperatorCa,
} from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { leafFor, mtlsHandshake, TD, tempDir } from './support.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;

interface Made {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
}

async function makeCert(
  name: string,
  options: {
    issuer?: Made;
    ca?: boolean;
    alg?: typeof EC | typeof RSA;
    notAfter?: Date;
    notBefore?: Date;
  } = {},
): Promise<Made> {
  const alg = options.alg ?? EC;
  const keys = (await webcrypto.subtle.generateKey(alg, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = options.ca ?? true;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    subject: `CN=${name}`,
    issuer: options.issuer ? options.issuer.cert.subject : `CN=${name}`,
    notBefore: options.notBefore ?? new Date(Date.now() - 3_600_000),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: options.issuer ? options.issuer.keys.privateKey : keys.privateKey,
    signingAlgorithm: options.issuer
      ? options.issuer.keys.privateKey.algorithm.name === 'ECDSA'
        ? EC
        : RSA
      : alg,
    extensions: [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      new x509.KeyUsagesExtension(
        ca
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
          : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
    ],
  });
  return { cert, keys };
}

describe('operator-provided CA', () => {
  let tmp: ReturnType<typeof tempDir>;
  const file = (name: string) => path.join(tmp.dir, name);
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  async function write(name: string, made: Made): Promise<void> {
    writeFileSync(file(`${name}.pem`), made.cert.toString('pem'));
    writeFileSync(file(`${name}-key.pem`), await keyPem(made.keys));
  }

  async function refusal(p: Promise<unknown>): Promise<IdentityError> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof IdentityError, String(err));
      return err;
    }
    assert.fail('expected a refusal');
  }

  it('an operator root signs leaves that verify against it over TLS', async () => {
    await write('root', await makeCert('Operator Root', { alg: RSA }));
    const material = await loadOperatorCa({
      certFile: file('root.pem'),
      keyFile: file('root-key.pem'),
    });
    const ca = new CertificateAuthority(material, { trustDomain: TD });
    const a = await leafFor(ca, `spiffe://${TD}/ns/a/sa/a`);
    const b = await leafFor(ca, `spiffe://${TD}/ns/b/sa/b`);
    assert.equal(a.leaf.issuer, 'CN=Operator Root');
    assert.equal(a.chain.match(/BEGIN CERTIFICATE/g)?.length, 1);
    await mtlsHandshake(a, b, `spiffe://${TD}/ns/a/sa/a`);
  });

  it('an intermediate hands out leaf + intermediate, trusted through the root only', async () => {
    const root = await makeCert('Operator Root');
    const inter = await makeCert('Ferry Intermediate', { issuer: root });
    await write('inter', inter);
    writeFileSync(file('chain.pem'), root.cert.toString('pem'));
    const material = await loadOperatorCa({
      certFile: file('inter.pem'),
      keyFile: file('inter-key.pem'),
      chainFile: file('chain.pem'),
    });
    assert.equal(material.roots.length, 1);
    assert.equal(new X509Certificate(material.roots[0] as string).subject, 'CN=Operator Root');
    const ca = new CertificateAuthority(material, { trustDomain: TD });
    const a = await leafFor(ca, `spiffe://${TD}/ns/a/sa/a`);
    const b = await leafFor(ca, `spiffe://${TD}/ns/b/sa/b`);
    assert.equal(a.leaf.issuer, 'CN=Ferry Intermediate');
    assert.equal(a.chain.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf + intermediate');
    assert.doesNotMatch(a.roots, new RegExp(inter.cert.toString('base64').slice(0, 40)));
    const seen = await mtlsHandshake(a, b, `spiffe://${TD}/ns/a/sa/a`);
    assert.deepEqual(seen.serverSaw, [`spiffe://${TD}/ns/b/sa/b`]);
  });

  it('is used from the CA directory in the plug-in layout (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem)', async () => {
    const root = await makeCert('Operator Root');
    const inter = await makeCert('Ferry Intermediate', { issuer: root });
    writeFileSync(file(CA_FILES.pluggedCert), inter.cert.toString('pem'));
    writeFileSync(file(CA_FILES.pluggedKey), await keyPem(inter.keys));
    writeFileSync(
      file(CA_FILES.pluggedChain),
      inter.cert.toString('pem') + root.cert.toString('pem'),
    );
    writeFileSync(file(CA_FILES.root), root.cert.toString('pem'));
    const loaded = await loadCaDirectory(tmp.dir, { trustDomain: TD, log: silentLogger() });
    assert.equal(loaded.source, 'plugged');
    assert.equal(loaded.material.cert.subject, 'CN=Ferry Intermediate');
    assert.equal(loaded.material.intermediates.length, 0, 'the chain file repeats the CA cert');
  });

  it('refuses a certificate that is not a CA, naming the file', async () => {
    await write('leaf', await makeCert('Not A CA', { ca: false }));
    const err = await refusal(
      loadOperatorCa({ certFile: file('leaf.pem'), keyFile: file('leaf-key.pem') }),
    );
    assert.equal(err.code, 'FERRY_CA_NOT_CA');
    assert.ok(err.message.includes(file('leaf.pem')), err.message);
  });

  it('refuses a key that is not the certificate key, naming both files', async () => {
    await write('one', await makeCert('One'));
    await write('two', await makeCert('Two'));
    const err = await refusal(
      loadOperatorCa({ certFile: file('one.pem'), keyFile: file('two-key.pem') }),
    );
    assert.equal(err.code, 'FERRY_CA_KEY_MISMATCH');
    assert.match(err.message, /two-key\.pem.*one\.pem/);
  });

  it('refuses an intermediate without its path to a root', async () => {
    const root = await makeCert('Operator Root');
    await write('inter', await makeCert('Inter', { issuer: root }));
    const err = await refusal(
      loadOperatorCa({ certFile: file('inter.pem'), keyFile: file('inter-key.pem') }),
    );
    assert.equal(err.code, 'FERRY_CA_CHAIN');
    assert.match(err.message, /intermediate CA, but no chain/);
  });

  it('refuses a chain whose next certificate did not sign the CA', async () => {
    const root = await makeCert('Operator Root');
    const other = await makeCert('Other Root');
    await write('inter', await makeCert('Inter', { issuer: root }));
    writeFileSync(file('chain.pem'), other.cert.toString('pem'));
    const err = await refusal(
      loadOperatorCa({
        certFile: file('inter.pem'),
        keyFile: file('inter-key.pem'),
        chainFile: file('chain.pem'),
      }),
    );
    assert.equal(err.code, 'FERRY_CA_CHAIN');
    assert.ok(err.message.includes(file('chain.pem')), err.message);
  });

  it('refuses an expired CA certificate', async () => {
    await write(
      'old',
      await makeCert('Old', {
        notBefore: new Date(Date.now() - 2 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      }),
    );
    const err = await refusal(
      loadOperatorCa({ certFile: file('old.pem'), keyFile: file('old-key.pem') }),
    );
    assert.equal(err.code, 'FERRY_CA_EXPIRED');
  });

  it('refuses a missing or non-PEM file, naming it', async () => {
    const missing = await refusal(
      loadOperatorCa({ certFile: file('nope.pem'), keyFile: file('nope-key.pem') }),
    );
    assert.equal(missing.code, 'FERRY_CA_FILE');
    assert.match(missing.message, /nope\.pem: ENOENT/);
    writeFileSync(file('junk.pem'), 'hello');
    const junk = await refusal(
      loadOperatorCa({ certFile: file('junk.pem'), keyFile: file('junk.pem') }),
    );
    assert.equal(junk.code, 'FERRY_CA_FILE');
    assert.match(junk.message, /junk\.pem \(CA certificate\) holds no PEM certificate/);
  });
});

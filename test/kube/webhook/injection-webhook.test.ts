/**
 * The webhook's HTTPS server: a real TLS handshake against a certificate made for the
 * test, a real AdmissionReview POSTed as the API server does, and its errors.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import https from 'node:https';
import * as x509 from '@peculiar/x509';
import { injectionTemplate } from '../../../src/kube/inject/index.js';
import { createInjectionWebhook, type InjectionWebhook } from '../../../src/kube/webhook/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { readFixture } from '../inject/golden.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function selfSigned(): Promise<{ key: string; cert: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=ferry-control-plane.ferry-system.svc',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: ALG,
    keys: keys as unknown as Parameters<
      typeof x509.X509CertificateGenerator.createSelfSigned
    >[0]['keys'],
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'ferry-control-plane.ferry-system.svc' },
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { key, cert: cert.toString('pem') };
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

function post(
  port: number,
  ca: string,
  path: string,
  body: string,
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        // A fresh connection each time: the certificate swap is seen on the next handshake.
        agent: false,
        // The API server calls the Service's DNS name; the certificate is checked against it.
        servername: 'ferry-control-plane.ferry-system.svc',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: text,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('injection webhook: HTTPS server', () => {
  let webhook: InjectionWebhook;
  let ca: string;
  const lookups: string[] = [];

  before(async () => {
    const { key, cert } = await selfSigned();
    ca = cert;
    webhook = await createInjectionWebhook({
      key,
      cert,
      port: 0,
      host: '127.0.0.1',
      template: injectionTemplate(),
      namespaceLabels: async (ns) => {
        lookups.push(ns);
        return { 'ferry-injection': 'enabled' };
      },
      log: silentLogger(),
    });
  });
  after(() => webhook.close());

  it('answers a real AdmissionReview over TLS with the uid and a base64 JSON patch', async () => {
    const review = readFixture('namespace-enabled.review.json');
    const r = await post(webhook.port, ca, '/inject', review);
    assert.equal(r.status, 200);
    assert.match(r.type, /application\/json/);
    const out = JSON.parse(r.body);
    assert.equal(out.apiVersion, 'admission.k8s.io/v1');
    assert.equal(out.kind, 'AdmissionReview');
    assert.equal(out.response.uid, JSON.parse(review).request.uid);
    assert.equal(out.response.allowed, true);
    assert.equal(out.response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8'));
    assert.deepEqual(
      patch[0].value.map((c: { name: string }) => c.name),
      ['ferry-init', 'ferry-proxy'],
    );
    assert.deepEqual(lookups, ['shop'], 'the namespace labels were asked for');
  });

  it('allows a skipped pod without a patch', async () => {
    const r = await post(webhook.port, ca, '/inject', readFixture('host-network.review.json'));
    assert.equal(r.status, 200);
    const out = JSON.parse(r.body);
    assert.equal(out.response.allowed, true);
    assert.equal(out.response.patch, undefined);
  });

  it('refuses a body that is not JSON with 400 and says so', async () => {
    const r = await post(webhook.port, ca, '/inject', '{"apiVersion": ');
    assert.equal(r.status, 400);
    assert.match(r.body, /malformed AdmissionReview: the body is not JSON/);
  });

  it('refuses an AdmissionReview without a request with 400 naming the field', async () => {
    const r = await post(
      webhook.port,
      ca,
      '/inject',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
    );
    assert.equal(r.status, 400);
    assert.match(r.body, /request is missing/);
  });

  it('answers 404 off its path and 405 for other methods', async () => {
    assert.equal((await post(webhook.port, ca, '/mutate', '{}')).status, 404);
    assert.equal((await post(webhook.port, ca, '/inject', '', 'GET')).status, 405);
  });

  it('swaps its certificate without a restart', async () => {
    const next = await selfSigned();
    webhook.setCertificate(next.key, next.cert);
    await assert.rejects(post(webhook.port, ca, '/inject', '{}'), /self[- ]signed|certificate/i);
    const r = await post(
      webhook.port,
      next.cert,
      '/inject',
      readFixture('host-network.review.json'),
    );
    assert.equal(r.status, 200);
    ca = next.cert;
  });
});

/** The CA: its root made once and reused, and the leaves it signs, checked over real TLS. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CA_FILES, loadCaDirectory } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { caInDir, leafFor, mtlsHandshake, TD, tempDir } from './support.js';

const A = `spiffe://${TD}/ns/shop/sa/frontend`;
const B = `spiffe://${TD}/ns/shop/sa/cart`;

describe('certificate authority', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  describe('the root in the CA directory', () => {
    it('is made on first start: self-signed ECDSA P-256 CA, key file mode 0600', async () => {
      const dir = path.join(tmp.dir, 'ca');
      const loaded = await loadCaDirectory(dir, { trustDomain: TD, log: silentLogger() });
      assert.equal(loaded.source, 'created');
      const root = new X509Certificate(readFileSync(path.join(dir, CA_FILES.root)));
      assert.ok(root.ca, 'basicConstraints CA:TRUE');
      assert.equal(root.subject, root.issuer);
      assert.ok(root.verify(root.publicKey), 'self-signed');
      assert.equal(root.publicKey.asymmetricKeyType, 'ec');
      assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.equal(statSync(path.join(dir, CA_FILES.rootKey)).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    });

    it('is reused on later starts: same root, and leaves from either start verify', async () => {
      const first = await caInDir(tmp.dir);
      const before = readFileSync(path.join(tmp.dir, CA_FILES.root), 'utf8');
      const leafOld = await leafFor(first.ca, A);
      const again = await loadCaDirectory(tmp.dir, { trustDomain: TD, log: silentLogger() });
      assert.equal(again.source, 'reused');
      const second = await caInDir(tmp.dir);
      assert.equal(readFileSync(path.join(tmp.dir, CA_FILES.root), 'utf8'), before);
      assert.deepEqual(second.ca.roots, first.ca.roots);
      // A workload certified before the restart and one after still trust each other.
      const leafNew = await leafFor(second.ca, B);
      const seen = await mtlsHandshake(leafNew, leafOld, B);
      assert.deepEqual(seen, { clientSaw: [B], serverSaw: [A] });
    });
  });

  describe('leaf certificates', () => {
    it('carry exactly the SPIFFE URI SAN, P-256, 24 h, server+client auth, not a CA', async () => {
      const { ca } = await caInDir(tmp.dir);
      const t0 = Date.now();
      const { leaf, chain } = await leafFor(ca, A);
      assert.equal(leaf.subjectAltName, `URI:${A}`);
      assert.equal(leaf.ca, false);
      assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), [
        '1.3.6.1.5.5.7.3.1',
        '1.3.6.1.5.5.7.3.2',
      ]);
      const lifetime = Date.parse(leaf.validTo) - t0;
      assert.ok(Math.abs(lifetime - 86_400_000) < 5_000, `lifetime ${lifetime} ms`);
      const root = new X509Certificate(ca.roots[0] as string);
      assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey));
      // The chain a self-made root hands out is the leaf alone: peers hold the root.
      assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 1);
    });

    it('have random serials, and the configured TTL (capped at the CA default)', async () => {
      const { ca } = await caInDir(tmp.dir, { certTtlMs: 3_600_000 });
      const a = await leafFor(ca, A);
      const b = await leafFor(ca, A);
      assert.notEqual(a.leaf.serialNumber, b.leaf.serialNumber);
      assert.ok(a.leaf.serialNumber.length >= 30, a.leaf.serialNumber);
      const t0 = Date.now();
      assert.ok(Math.abs(Date.parse(a.leaf.validTo) - t0 - 3_600_000) < 5_000);
      const short = await leafFor(ca, A, 600_000);
      assert.ok(Math.abs(Date.parse(short.leaf.validTo) - t0 - 600_000) < 5_000);
      const long = await leafFor(ca, A, 48 * 3_600_000);
      assert.ok(Date.parse(long.leaf.validTo) - t0 <= 3_600_000 + 5_000, 'not past the CA TTL');
    });

    it('two leaves complete a mutual TLS 1.3 handshake with the bundle and see each other', async () => {
      const { ca } = await caInDir(tmp.dir);
      const server = await leafFor(ca, A);
      const client = await leafFor(ca, B);
      const seen = await mtlsHandshake(server, client, A);
      assert.deepEqual(seen.clientSaw, [A]);
      assert.deepEqual(seen.serverSaw, [B]);
    });

    it('a client expecting another SPIFFE ID refuses the server', async () => {
      const { ca } = await caInDir(tmp.dir);
      const server = await leafFor(ca, A);
      const client = await leafFor(ca, B);
      await assert.rejects(mtlsHandshake(server, client, B), /server is spiffe:\/\/.*frontend/);
    });

    it('a leaf from another CA is refused by the server', async () => {
      const ours = await caInDir(tmp.dir);
      const other = tempDir();
      try {
        const theirs = await caInDir(other.dir);
        const server = await leafFor(ours.ca, A);
        const stranger = await leafFor(theirs.ca, B);
        // The stranger trusts our root, so only the server's check can stop it.
        await assert.rejects(
          mtlsHandshake(server, { ...stranger, roots: server.roots }, A),
          (err: Error) => /alert|unknown ca|ECONNRESET|closed/i.test(err.message),
        );
      } finally {
        other.remove();
      }
    });
  });
});

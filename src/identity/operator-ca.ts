/**
 * A CA the operator provides: a root, or an intermediate under their own root, as PEM
 * files (cert + key + optional chain up to the root). Checked before use, each failure
 * a FERRY_CA_* error naming the file: it must be a CA, the key must be its key, it must
 * be in date, and the chain must link up to a self-signed root.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CaMaterial } from './certificate-authority.js';
import { IdentityError } from './identity-error.js';
import { signingKeyFor, spkiOf, splitPem } from './x509.js';

export interface OperatorCaFiles {
  /** The CA certificate (PEM): the root itself, or an intermediate. */
  readonly certFile: string;
  /** Its private key (PEM: PKCS#8, SEC1 or PKCS#1). */
  readonly keyFile: string;
  /**
   * For an intermediate: the certificates above it up to the root (PEM, in order; the
   * root may be included). May also hold the CA certificate first, as Istio's
   * cert-chain.pem does.
   */
  readonly chainFile?: string;
  /** The root(s) workloads trust, if not the last certificate of the chain. */
  readonly rootFile?: string;
}

/**
 * The same CA given as PEM text, each part with where it came from (a file name, a Secret's
 * key), which every error names.
 */
export interface CaPemParts {
  readonly cert: PemPart;
  readonly key: PemPart;
  readonly chain?: PemPart;
  readonly root?: PemPart;
}

export interface PemPart {
  readonly pem: string;
  /** Where the text came from, as errors name it. */
  readonly where: string;
}

function read(file: string, what: string): PemPart {
  try {
    return { pem: readFileSync(file, 'utf8'), where: file };
  } catch (err) {
    throw new IdentityError(
      'FERRY_CA_FILE',
      `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function certs(part: PemPart, what: string): X509Certificate[] {
  const pems = splitPem(part.pem);
  if (pems.length === 0)
    throw new IdentityError('FERRY_CA_FILE', `${part.where} (${what}) holds no PEM certificate`);
  return pems.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      throw new IdentityError(
        'FERRY_CA_FILE',
        `${part.where} (${what}): certificate ${i + 1} cannot be parsed: ${(err as Error).message}`,
      );
    }
  });
}

function isSelfSigned(c: X509Certificate): boolean {
  return c.subject === c.issuer && c.verify(c.publicKey);
}

/** Loads and checks an operator's CA; `now` decides what "expired" means. */
export async function loadOperatorCa(
  files: OperatorCaFiles,
  now: () => number = Date.now,
): Promise<CaMaterial> {
  return caMaterialFromPem(
    {
      cert: read(files.certFile, 'CA certificate'),
      key: read(files.keyFile, 'CA key'),
      chain: files.chainFile ? read(files.chainFile, 'CA chain') : undefined,
      root: files.rootFile ? read(files.rootFile, 'root certificate') : undefined,
    },
    now,
  );
}

/** Checks a CA given as PEM text, as loadOperatorCa checks files. */
export async function caMaterialFromPem(
  parts: CaPemParts,
  now: () => number = Date.now,
): Promise<CaMaterial> {
  const certWhere = parts.cert.where;
  const keyWhere = parts.key.where;
  const [cert] = certs(parts.cert, 'CA certificate');
  if (!cert) throw new IdentityError('FERRY_CA_FILE', `${certWhere} holds no certificate`);
  if (!cert.ca)
    throw new IdentityError(
      'FERRY_CA_NOT_CA',
      `${certWhere} is not a CA certificate (basicConstraints CA:TRUE is missing)`,
    );
  checkInDate(cert, certWhere, now);
  let key: KeyObject;
  try {
    key = createPrivateKey(parts.key.pem);
  } catch (err) {
    throw new IdentityError(
      'FERRY_CA_FILE',
      `${keyWhere} is not a PEM private key: ${(err as Error).message}`,
    );
  }
  if (!spkiOf(key).equals(spkiOf(cert.publicKey)))
    throw new IdentityError(
      'FERRY_CA_KEY_MISMATCH',
      `the key in ${keyWhere} does not belong to the certificate in ${certWhere}`,
    );
  let signing: Awaited<ReturnType<typeof signingKeyFor>>;
  try {
    signing = await signingKeyFor(key);
  } catch (err) {
    throw new IdentityError('FERRY_CA_KEY_TYPE', `${keyWhere}: ${(err as Error).message}`);
  }

  // The path up: chain certificates, skipping a leading copy of the CA certificate.
  let above = parts.chain ? certs(parts.chain, 'CA chain') : [];
  if (above[0]?.fingerprint256 === cert.fingerprint256) above = above.slice(1);
  const path = [cert, ...above];
  for (let i = 0; i + 1 < path.length; i++) {
    const child = path[i] as X509Certificate;
    const parent = path[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey))
      throw new IdentityError(
        'FERRY_CA_CHAIN',
        `${parts.chain?.where}: certificate ${i + 1} of the path (${child.subject}) is not signed by the next (${parent.subject})`,
      );
    checkInDate(parent, parts.chain?.where ?? certWhere, now);
  }
  const top = path[path.length - 1] as X509Certificate;
  let roots: X509Certificate[];
  if (parts.root) {
    roots = certs(parts.root, 'root certificate');
    if (!isSelfSigned(top) && !roots.some((r) => top.checkIssued(r) && top.verify(r.publicKey)))
      throw new IdentityError(
        'FERRY_CA_CHAIN',
        `the path from ${certWhere} does not end at a root in ${parts.root.where}`,
      );
  } else if (isSelfSigned(top)) {
    roots = [top];
  } else {
    throw new IdentityError(
      'FERRY_CA_CHAIN',
      `${certWhere} is an intermediate CA, but no chain up to its root was given ` +
        '(a chain file ending in the root, or a root file)',
    );
  }
  const rootPems = roots.map((r) => r.toString());
  const intermediates = above.filter((c) => !isSelfSigned(c)).map((c) => c.toString());
  return {
    cert,
    signingKey: signing.key,
    signingAlgorithm: signing.algorithm,
    intermediates,
    roots: rootPems,
  };
}

function checkInDate(cert: X509Certificate, file: string, now: () => number): void {
  const t = now();
  if (Date.parse(cert.validTo) <= t)
    throw new IdentityError(
      'FERRY_CA_EXPIRED',
      `${file}: ${cert.subject} expired on ${cert.validTo}`,
    );
  if (Date.parse(cert.validFrom) > t)
    throw new IdentityError(
      'FERRY_CA_EXPIRED',
      `${file}: ${cert.subject} is not valid before ${cert.validFrom}`,
    );
}

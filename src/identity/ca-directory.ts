/**
 * The CA directory the operator names (`--ca-dir`). Three cases, in this order:
 * - `ca-cert.pem` + `ca-key.pem` (+ optional `cert-chain.pem`, `root-cert.pem`): a CA the
 *   operator plugged in, in the file layout of Istio's "plug in CA certificates";
 * - `root-cert.pem` + `root-key.pem`: the root Ferry made on an earlier start, reused;
 * - neither: Ferry makes a self-signed ECDSA P-256 root and writes it here (key 0600).
 * https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
 */
import { chmodSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/index.js';
import type { CaMaterial } from './certificate-authority.js';
import { caMaterialFromPem, loadOperatorCa } from './operator-ca.js';
import { makeRootCa, type RootPem } from './root-ca.js';

export const CA_FILES = {
  pluggedCert: 'ca-cert.pem',
  pluggedKey: 'ca-key.pem',
  pluggedChain: 'cert-chain.pem',
  root: 'root-cert.pem',
  rootKey: 'root-key.pem',
} as const;

export interface CaDirectoryOptions {
  readonly trustDomain: string;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface LoadedCa {
  readonly material: CaMaterial;
  readonly source: 'plugged' | 'reused' | 'created';
}

export async function loadCaDirectory(dir: string, options: CaDirectoryOptions): Promise<LoadedCa> {
  const now = options.now ?? Date.now;
  const file = (name: string) => path.join(dir, name);
  if (existsSync(file(CA_FILES.pluggedCert)) || existsSync(file(CA_FILES.pluggedKey))) {
    const chain = file(CA_FILES.pluggedChain);
    const root = file(CA_FILES.root);
    const material = await loadOperatorCa(
      {
        certFile: file(CA_FILES.pluggedCert),
        keyFile: file(CA_FILES.pluggedKey),
        chainFile: existsSync(chain) ? chain : undefined,
        rootFile: existsSync(root) ? root : undefined,
      },
      now,
    );
    options.log.info({ dir, subject: material.cert.subject }, 'CA: using the plugged-in CA');
    return { material, source: 'plugged' };
  }
  if (existsSync(file(CA_FILES.root)) || existsSync(file(CA_FILES.rootKey))) {
    const keyFile = file(CA_FILES.rootKey);
    warnIfOpen(keyFile, options.log);
    const material = await loadOperatorCa({ certFile: file(CA_FILES.root), keyFile }, now);
    options.log.info(
      { dir, subject: material.cert.subject },
      'CA: reusing the root in the CA directory',
    );
    return { material, source: 'reused' };
  }
  const root = await createRoot(dir, options.trustDomain, now);
  // Checked from the PEM just written, not read back from the files.
  const material = await caMaterialFromPem(
    {
      cert: { pem: root.certPem, where: file(CA_FILES.root) },
      key: { pem: root.keyPem, where: file(CA_FILES.rootKey) },
    },
    now,
  );
  options.log.info({ dir, subject: material.cert.subject }, 'CA: made a new self-signed root');
  return { material, source: 'created' };
}

async function createRoot(dir: string, trustDomain: string, now: () => number): Promise<RootPem> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const root = await makeRootCa(trustDomain, now);
  // The key first, created 0600 from the start; each file written whole then renamed, so a
  // crash leaves either nothing or a complete file.
  writeAtomic(path.join(dir, CA_FILES.rootKey), root.keyPem, 0o600);
  writeAtomic(path.join(dir, CA_FILES.root), root.certPem, 0o644);
  return root;
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode, flag: 'w' });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function warnIfOpen(keyFile: string, log: Logger): void {
  try {
    const mode = statSync(keyFile).mode & 0o777;
    if (mode & 0o077)
      log.warn(
        { file: keyFile, mode: mode.toString(8) },
        'CA key file is readable by others; it should be mode 0600',
      );
  } catch {
    // A missing key is reported by the loader, naming the file.
  }
}

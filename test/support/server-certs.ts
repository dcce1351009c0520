/**
 * Server certificates for TLS tests made with the real openssl CLI: a root, and leaves with
 * DNS names (what a gateway's HTTPS listeners present to clients outside the mesh), written
 * to a temporary directory so curl and openssl s_client can read the root.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ServerCert {
  readonly key: string;
  readonly cert: string;
}

export class OpensslCa {
  private serial = 0;
  private constructor(readonly dir: string) {}

  static create(name = 'Gateway test root'): OpensslCa {
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-ca-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(dir, 'ca.key'),
        '-out',
        path.join(dir, 'ca.crt'),
        '-subj',
        `/CN=${name}`,
        '-days',
        '2',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      { stdio: 'pipe' },
    );
    return new OpensslCa(dir);
  }

  /** The root's PEM file, for curl --cacert and s_client -CAfile. */
  get rootFile(): string {
    return path.join(this.dir, 'ca.crt');
  }

  get rootPem(): string {
    return readFileSync(this.rootFile, 'utf8');
  }

  /** A leaf for `names` (the first is also its CN), signed by this root. */
  issue(...names: string[]): ServerCert {
    const base = path.join(this.dir, `leaf-${++this.serial}`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-CA',
        this.rootFile,
        '-CAkey',
        path.join(this.dir, 'ca.key'),
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.crt`,
        '-subj',
        `/CN=${names[0]}`,
        '-days',
        '1',
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'extendedKeyUsage=serverAuth',
      ],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(`${base}.key`, 'utf8'), cert: readFileSync(`${base}.crt`, 'utf8') };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

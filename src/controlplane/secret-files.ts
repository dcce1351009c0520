/**
 * The mesh file's `secrets:`: certificate and key files for Gateway listeners, read and
 * watched. A pair is published only when the key belongs to the certificate, so a
 * certificate replaced before its key (two renames) keeps the old pair in force until the
 * new one is whole: a gateway under load never gets a mismatched pair. Paths are relative
 * to the mesh file's directory. Like the mesh file's watch, directories (and the links on
 * the way, for mounted Secrets) are watched rather than the files.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SecretFiles as SecretFileRef, TlsSecret } from '../gatewayapi/index.js';
import type { Logger } from '../log/index.js';
import { watchPoints } from '../mesh/index.js';

export interface SecretFilesOptions {
  /** Where relative paths start: the mesh file's directory. */
  readonly baseDir: string;
  readonly log: Logger;
  /** Called with every loaded secret after each change of what is loaded. */
  readonly onChange: (secrets: readonly TlsSecret[]) => void;
  /** Quiet time after a change before the files are read. Default 50 ms. */
  readonly debounceMs?: number;
}

/** Why a PEM pair is not usable, or undefined when it is. */
export function pairProblem(certificateChain: string, privateKey: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificateChain);
  } catch (e) {
    return `the certificate does not parse: ${(e as Error).message}`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(privateKey))) {
      return 'the key does not belong to the certificate';
    }
  } catch (e) {
    return `the key does not parse: ${(e as Error).message}`;
  }
  return undefined;
}

export class SecretFiles {
  private refs: readonly SecretFileRef[] = [];
  private loaded = new Map<string, TlsSecret>();
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: SecretFilesOptions) {}

  /** Follows these files from now on (the mesh file's current `secrets:`); resolves once read. */
  set(refs: readonly SecretFileRef[]): Promise<void> {
    this.refs = refs;
    this.rewatch();
    return this.reload();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private path(p: string): string {
    return resolve(this.options.baseDir, p);
  }

  private rewatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    const points = new Map<string, Set<string>>();
    for (const ref of this.refs) {
      for (const file of [ref.certFile, ref.keyFile]) {
        for (const [dir, names] of watchPoints(this.path(file))) {
          const set = points.get(dir) ?? new Set<string>();
          for (const n of names) set.add(n);
          points.set(dir, set);
        }
      }
    }
    for (const [dir, names] of points) {
      try {
        const w = watch(dir, (_event, name) => {
          if (name === null || names.has(name)) this.schedule();
        });
        w.on('error', () => this.schedule());
        this.watchers.push(w);
      } catch {
        // A directory not there yet: a change elsewhere on the way reports it.
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.rewatch();
      void this.reload();
    }, this.options.debounceMs ?? 50);
  }

  private reload(): Promise<void> {
    this.queue = this.queue.then(() => this.readAll());
    return this.queue;
  }

  private async readAll(): Promise<void> {
    if (this.closed) return;
    const next = new Map<string, TlsSecret>();
    for (const ref of this.refs) {
      const key = `${ref.namespace}/${ref.name}`;
      const pair = await this.readPair(ref);
      if (typeof pair !== 'string') {
        next.set(key, pair);
        continue;
      }
      const previous = this.loaded.get(key);
      this.options.log.error(
        { secret: key, certFile: ref.certFile, keyFile: ref.keyFile, problem: pair },
        previous
          ? 'TLS secret not reloaded; the previous certificate stays in force'
          : 'TLS secret not loaded',
      );
      if (previous) next.set(key, previous);
    }
    if (this.closed || sameSecrets(this.loaded, next)) return;
    this.loaded = next;
    this.options.onChange([...next.values()]);
  }

  private async readPair(ref: SecretFileRef): Promise<TlsSecret | string> {
    let certificateChain: string;
    let privateKey: string;
    try {
      [certificateChain, privateKey] = await Promise.all([
        readFile(this.path(ref.certFile), 'utf8'),
        readFile(this.path(ref.keyFile), 'utf8'),
      ]);
    } catch (e) {
      return `cannot read: ${(e as Error).message}`;
    }
    const problem = pairProblem(certificateChain, privateKey);
    return problem ?? { name: ref.name, namespace: ref.namespace, certificateChain, privateKey };
  }
}

function sameSecrets(
  a: ReadonlyMap<string, TlsSecret>,
  b: ReadonlyMap<string, TlsSecret>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.certificateChain !== v.certificateChain || w.privateKey !== v.privateKey)
      return false;
  }
  return true;
}

/** The directory relative secret paths start from, for a mesh file path. */
export function secretsBaseDir(meshFile: string | undefined): string {
  return meshFile ? dirname(resolve(meshFile)) : process.cwd();
}

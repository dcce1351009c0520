/**
 * What the chart's CNI DaemonSet runs on every node (`ferry cni-install`), as istio-cni's
 * install-cni does: put the plugin into the node's CNI binary directory, chain it into the
 * node's CNI configuration, keep it chained when something else rewrites that file (the
 * primary network's own installer, on its restart), and take both out again when it stops,
 * so that a node without Ferry's DaemonSet has no plugin left that pods would fail on.
 * Every write is a temporary file renamed into place: the runtime never reads half a file.
 */
import { type FSWatcher, watch } from 'node:fs';
import { chmod, cp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CNI_ERROR, CniError } from './cni-error.js';
import { chainPlugin, primaryConfFile, unchainPlugin } from './conflist-chain.js';

export const PLUGIN_FILE = 'ferry-cni';
/** Where a copied runtime (node and the Ferry program) goes, beside the plugin. */
export const RUNTIME_DIR = 'ferry-cni.d';

export interface CniRuntime {
  /** The Node.js binary to copy (the installer's own, process.execPath). */
  readonly node: string;
  /** The Ferry program's root (with dist/ and node_modules/) to copy. */
  readonly app: string;
}

export interface CniInstallerOptions {
  /** The node's CNI configuration directory, as mounted (e.g. /host/etc/cni/net.d). */
  readonly confDir: string;
  /** The node's CNI binary directory, as mounted (e.g. /host/opt/cni/bin). */
  readonly binDir: string;
  /** The same directory as the node (and the runtime calling the plugin) sees it. */
  readonly hostBinDir: string;
  /** The file to chain into; default the runtime's choice, the first by name. */
  readonly confName?: string;
  /** Ferry's entry in the chain (excludeNamespaces, capture ...); `type` is set here. */
  readonly plugin: Readonly<Record<string, unknown>>;
  /**
   * Copy Node.js and the program next to the plugin, so the node needs neither; absent:
   * the plugin runs `pluginCommand` (which the node must have).
   */
  readonly runtime?: CniRuntime;
  /** The command the plugin runs without a copied runtime. Default /usr/local/bin/ferry. */
  readonly pluginCommand?: string;
  readonly log: (line: string) => void;
  /** Quiet time before a change of the configuration directory is looked at. Default 100 ms. */
  readonly debounceMs?: number;
}

/** Single quotes for sh: the path may hold anything but is taken literally. */
const shQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.ferry-tmp`);
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

export class CniInstaller {
  /** The configuration file Ferry's plugin is chained into, once it is. */
  private chainedInto: string | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: CniInstallerOptions) {}

  /** The plugin's wrapper script: the runtime runs it by the plugin's type. */
  pluginScript(): string {
    const command = this.o.runtime
      ? `${shQuote(path.join(this.o.hostBinDir, RUNTIME_DIR, 'node'))} ${shQuote(
          path.join(this.o.hostBinDir, RUNTIME_DIR, 'app', 'dist', 'src', 'cli', 'main.js'),
        )}`
      : shQuote(this.o.pluginCommand ?? '/usr/local/bin/ferry');
    return (
      '#!/bin/sh\n' +
      "# Ferry's CNI plugin, installed by `ferry cni-install` (removed when it stops).\n" +
      `exec ${command} cni "$@"\n`
    );
  }

  /** Installs the plugin, then chains it (if the node has a configuration yet). */
  async install(): Promise<void> {
    if (this.o.runtime) {
      const dest = path.join(this.o.binDir, RUNTIME_DIR);
      const tmp = path.join(this.o.binDir, `.${RUNTIME_DIR}.ferry-tmp`);
      await rm(tmp, { recursive: true, force: true });
      await cp(this.o.runtime.node, path.join(tmp, 'node'));
      await chmod(path.join(tmp, 'node'), 0o755);
      await cp(this.o.runtime.app, path.join(tmp, 'app'), { recursive: true, dereference: true });
      await rm(dest, { recursive: true, force: true });
      await rename(tmp, dest);
    }
    await writeAtomically(path.join(this.o.binDir, PLUGIN_FILE), this.pluginScript(), 0o755);
    this.o.log(`installed ${path.join(this.o.binDir, PLUGIN_FILE)}`);
    await this.chain();
  }

  /** Chains the plugin into the configuration file, unless it is there as wanted. */
  private async chain(): Promise<void> {
    const name = this.o.confName ?? primaryConfFile(await readdir(this.o.confDir));
    if (name === undefined) {
      this.o.log(`no CNI configuration in ${this.o.confDir} yet; waiting for one`);
      return;
    }
    const file = path.join(this.o.confDir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const chained = chainPlugin(name, text, this.o.plugin);
    const target = path.join(this.o.confDir, chained.fileName);
    this.chainedInto = target;
    if (chained.unchanged) return;
    await writeAtomically(target, chained.text, 0o644);
    // A single-plugin .conf became a .conflist; the runtime must not see both.
    if (target !== file) await rm(file, { force: true });
    this.o.log(`chained ${chained.fileName} to ${PLUGIN_FILE}`);
  }

  /** Keeps the plugin chained while the configuration directory changes. */
  watch(): void {
    const debounceMs = this.o.debounceMs ?? 100;
    this.watcher = watch(this.o.confDir, (_event, filename) => {
      // Our own temporary files come and go with every write.
      if (this.stopped || filename?.endsWith('.ferry-tmp')) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.queue = this.queue
          .then(() => (this.stopped ? undefined : this.chain()))
          .catch((err: unknown) => this.o.log(`cannot chain the plugin: ${String(err)}`));
      }, debounceMs);
    });
    this.watcher.on('error', (err) => this.o.log(`watching ${this.o.confDir} failed: ${err}`));
  }

  /** Unchains and removes the plugin (and its runtime); the node is as it was. */
  async uninstall(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    await this.queue;
    if (this.chainedInto !== undefined) {
      const name = path.basename(this.chainedInto);
      try {
        const text = unchainPlugin(name, await readFile(this.chainedInto, 'utf8'));
        if (text !== undefined) {
          await writeAtomically(this.chainedInto, text, 0o644);
          this.o.log(`took ${PLUGIN_FILE} out of ${name}`);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new CniError(CNI_ERROR.ioFailure, `cannot unchain ${name}: ${String(err)}`);
        }
      }
    }
    await rm(path.join(this.o.binDir, PLUGIN_FILE), { force: true });
    await rm(path.join(this.o.binDir, RUNTIME_DIR), { recursive: true, force: true });
    this.o.log(`removed ${path.join(this.o.binDir, PLUGIN_FILE)}`);
  }
}

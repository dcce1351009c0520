/**
 * Chaining Ferry's plugin into the node's CNI configuration, as istio-cni's installer does:
 * the runtime uses the first configuration file of /etc/cni/net.d in lexical order; Ferry's
 * plugin is appended to that file's plugin list (a single-plugin `.conf` becomes a
 * `.conflist` holding it), and taken out again when the installer stops. Pure: text in, text
 * out. https://www.cni.dev/docs/spec/#section-1-network-configuration-format
 */
import { CNI_ERROR, CniError } from './cni-error.js';

export const FERRY_PLUGIN_TYPE = 'ferry-cni';

/** The extensions the runtime (libcni ConfFiles) reads from the configuration directory. */
export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The file the runtime uses: the first configuration file by name (libcni sorts them). */
export function primaryConfFile(names: readonly string[]): string | undefined {
  return names
    .filter((n) => !n.startsWith('.') && CONF_EXTENSIONS.some((e) => n.endsWith(e)))
    .sort()[0];
}

function parse(fileName: string, text: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERROR.decodeFailure, `${fileName}: not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new CniError(CNI_ERROR.invalidConfig, `${fileName}: not an object`);
  return raw;
}

/** A configuration as a list: a `.conf` (one plugin) becomes `{cniVersion, name, plugins}`. */
function asList(fileName: string, conf: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(conf.plugins)) return conf;
  if (typeof conf.type !== 'string') {
    throw new CniError(
      CNI_ERROR.invalidConfig,
      `${fileName}: neither a plugin list ("plugins") nor a plugin ("type")`,
    );
  }
  const { cniVersion, name, ...plugin } = conf;
  return { cniVersion, name, plugins: [plugin] };
}

const isFerry = (p: unknown): boolean => isObject(p) && p.type === FERRY_PLUGIN_TYPE;

export interface ChainedConf {
  /** The file to write: the same name, or `<name>.conflist` for a `.conf`. */
  readonly fileName: string;
  readonly text: string;
  /** Whether the file had Ferry's plugin exactly as wanted already (nothing to write). */
  readonly unchanged: boolean;
}

/** The configuration with Ferry's plugin last in its chain (replacing an older entry). */
export function chainPlugin(
  fileName: string,
  text: string,
  plugin: Readonly<Record<string, unknown>>,
): ChainedConf {
  const list = asList(fileName, parse(fileName, text));
  const others = (list.plugins as unknown[]).filter((p) => !isFerry(p));
  const wanted = { ...plugin, type: FERRY_PLUGIN_TYPE };
  const current = (list.plugins as unknown[]).filter(isFerry);
  const unchanged =
    Array.isArray(parse(fileName, text).plugins) &&
    current.length === 1 &&
    JSON.stringify((list.plugins as unknown[]).at(-1)) === JSON.stringify(wanted);
  const out = { ...list, plugins: [...others, wanted] };
  const listName = fileName.endsWith('.conf') ? `${fileName}list` : fileName;
  return { fileName: listName, text: `${JSON.stringify(out, null, 2)}\n`, unchanged };
}

/** The configuration without Ferry's plugin; undefined when it had none. */
export function unchainPlugin(fileName: string, text: string): string | undefined {
  const conf = parse(fileName, text);
  if (!Array.isArray(conf.plugins) || !conf.plugins.some(isFerry)) return undefined;
  const out = { ...conf, plugins: conf.plugins.filter((p) => !isFerry(p)) };
  return `${JSON.stringify(out, null, 2)}\n`;
}

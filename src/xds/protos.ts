/**
 * The Envoy v3 protos, loaded once with protobufjs from the copies that the npm package
 * `@grpc/grpc-js-xds` ships under `deps/` (never copied into this repository).
 *
 * Parsing the .proto files costs a process about 23 MiB and 170 ms; the build therefore
 * writes the parsed types once as a JSON descriptor beside this module (`npm run build`
 * runs write-descriptor.js), without the validation annotations, and a process loads that
 * instead: about 9 MiB and 50 ms, which matters most for a sidecar. A descriptor made from
 * another list of files than ENTRY_FILES is ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import entryFiles from './envoy-proto-files.json' with { type: 'json' };

const require = createRequire(import.meta.url);

/**
 * The proto files whose messages Ferry encodes or decodes; their imports come along. The
 * build generates the TypeScript types of src/xds/generated/ from the same list.
 */
const ENTRY_FILES: readonly string[] = entryFiles;

/** The include directories: protobufjs's own google/protobuf files, then grpc-js-xds's deps. */
export function protoIncludeDirs(): string[] {
  // The package's main file is build/src/index.js; deps/ sits beside build/.
  const depsDir = path.resolve(path.dirname(require.resolve('@grpc/grpc-js-xds')), '../../deps');
  return [
    path.dirname(require.resolve('protobufjs/package.json')),
    ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(depsDir, d)),
  ];
}

let loaded: protobuf.Root | undefined;

/** Where the build writes the descriptor: next to this module in dist/. */
export const DESCRIPTOR_URL = new URL('./envoy-descriptor.json', import.meta.url);

interface Descriptor {
  readonly entryFiles: readonly string[];
  readonly root: protobuf.INamespace;
}

/** The loaded proto root (field names kept in snake_case, as Envoy's YAML and docs spell them). */
export function envoyRoot(): protobuf.Root {
  if (loaded) return loaded;
  loaded = loadDescriptor() ?? parseEnvoyProtos();
  return loaded;
}

function loadDescriptor(): protobuf.Root | undefined {
  let descriptor: Descriptor;
  try {
    descriptor = JSON.parse(readFileSync(DESCRIPTOR_URL, 'utf8')) as Descriptor;
  } catch {
    return undefined;
  }
  if (descriptor.entryFiles.join('\n') !== ENTRY_FILES.join('\n')) return undefined;
  // Types resolve on first use: a sidecar touches a fraction of them.
  return protobuf.Root.fromJSON(descriptor.root);
}

/** The descriptor for the build to write: the parsed types, with options other than `packed` left out. */
export function envoyDescriptor(): string {
  const descriptor: Descriptor = {
    entryFiles: ENTRY_FILES,
    root: parseEnvoyProtos().toJSON() as protobuf.INamespace,
  };
  return JSON.stringify(descriptor, (key, value) => {
    if (key !== 'options' || typeof value !== 'object' || value === null) return value;
    // Encoding depends on `packed` alone; the rest (validation rules, annotations) is for
    // other tools.
    return 'packed' in value ? { packed: value.packed } : undefined;
  });
}

/** Parses .proto files themselves (by default the ones Ferry encodes and decodes). */
export function parseEnvoyProtos(files: readonly string[] = ENTRY_FILES): protobuf.Root {
  const dirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target in protobuf.common) return target;
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

const typeCache = new Map<string, protobuf.Type>();

/** A message type by fully qualified name, e.g. `envoy.config.cluster.v3.Cluster`. */
export function messageType(fullName: string): protobuf.Type {
  let type = typeCache.get(fullName);
  if (!type) {
    type = envoyRoot().lookupType(fullName);
    typeCache.set(fullName, type);
  }
  return type;
}

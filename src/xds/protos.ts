/**
 * The Envoy v3 protos, loaded once with protobufjs from the copies that the npm package
 * `@grpc/grpc-js-xds` ships under `deps/` (never copied into this repository).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** The proto files whose messages Ferry encodes or decodes; their imports come along. */
const ENTRY_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'google/rpc/status.proto',
];

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

/** The loaded proto root (field names kept in snake_case, as Envoy's YAML and docs spell them). */
export function envoyRoot(): protobuf.Root {
  if (loaded) return loaded;
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
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  loaded = root;
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

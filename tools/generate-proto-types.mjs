#!/usr/bin/env node
/**
 * Build step, before tsc: generates TypeScript types for the Envoy protos Ferry decodes
 * (src/xds/envoy-proto-files.json, the same list src/xds/protos.ts loads) into
 * src/xds/generated/ (git-ignored), with @grpc/proto-loader's proto-loader-gen-types, as
 * grpc-js-xds does for its own types.
 *
 * The options mirror how src/xds/codec.ts turns a decoded message into an object
 * (protobufjs toObject with longs: Number, enums: String, bytes: String, defaults: false,
 * json: true, field names kept in snake_case), so each generated `__Output` type describes
 * exactly the objects the decoder produces: every field optional, 64-bit integers as
 * numbers, enums by name, bytes as base64, google.protobuf.Any as `{ '@type', ...fields }`.
 *
 * The output is reused while the inputs (this script's options, the file list and the
 * versions of the proto sources and of the generator) are unchanged, so a rebuild costs
 * nothing here.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'src/xds/generated');
const stampFile = path.join(outDir, '.inputs');

const files = JSON.parse(readFileSync(path.join(root, 'src/xds/envoy-proto-files.json'), 'utf8'));
// grpc-js-xds's main file is build/src/index.js; the protos sit in deps/ beside build/.
const xdsPackage = path.resolve(path.dirname(require.resolve('@grpc/grpc-js-xds')), '../..');
const depsDir = path.join(xdsPackage, 'deps');
// proto-loader is a dependency of @grpc/grpc-js; resolve it from there, not from the hoisting.
const grpcRequire = createRequire(require.resolve('@grpc/grpc-js'));
const loaderPackage = path.dirname(grpcRequire.resolve('@grpc/proto-loader/package.json'));
const generator = path.join(loaderPackage, 'build/bin/proto-loader-gen-types.js');

const args = [
  '--keepCase',
  '--longs=Number',
  '--enums=String',
  '--bytes=String',
  '--json',
  '--includeComments',
  '--importFileExtension=.js',
  '--outDir',
  outDir,
  '-I',
  ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(depsDir, d)),
  '--',
  ...files,
];

const version = (dir) => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
const inputs = createHash('sha256')
  .update(JSON.stringify({ args, xds: version(xdsPackage), loader: version(loaderPackage) }))
  .digest('hex');

if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === inputs) process.exit(0);

rmSync(outDir, { recursive: true, force: true });
const run = spawnSync(process.execPath, [generator, ...args], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) {
  console.error(`generate-proto-types: proto-loader-gen-types exited with ${run.status ?? run.signal}`);
  process.exit(1);
}
writeFileSync(stampFile, inputs);

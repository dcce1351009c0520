/**
 * Fuzzing: xDS resources into a live sidecar process (`ferry proxy --sotw`) from a test ADS
 * server. The seeds are what Ferry's control plane builds for this sidecar from a mesh
 * with routes, retries, subsets and policies (fuzz-mesh.ts); each case mutates one Listener,
 * RouteConfiguration, Cluster or ClusterLoadAssignment (a field replaced with a boundary
 * value, deleted or duplicated; or its protobuf bytes mutated; or a wrong type URL),
 * pushes it, and requires an ACK or a NACK; then pushes the original back, which must be
 * ACKed, and the canary must be routed to the app again.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../src/controlplane/index.js';
import { encodeResource, types, workloadFromNode } from '../../src/xds/index.js';
import { startControlPlane } from '../support/mesh-harness.js';
import { fuzzSettings } from '../support/seeded-random.js';
import { httpCanary } from './canary.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { type AnyResource, FuzzAdsServer } from './fuzz-ads-server.js';
import { FuzzFinding, runFuzz } from './fuzz-loop.js';
import { fuzzMesh } from './fuzz-mesh.js';
import { mutateJson } from './json-mutator.js';
import { KNOWN_CRASHES } from './known-crashes.js';
import { LiveSidecar } from './live-sidecar.js';
import { Mutator } from './mutator.js';
import { Tokens } from './tokens.js';

const settings = fuzzSettings();
const TYPES = [types.LISTENER, types.ROUTE, types.CLUSTER, types.ENDPOINT];
const REPLY_MS = 5000;

/** Protobuf wire fragments: tags of each wire type, varints at their limits, lengths that lie. */
const PROTO_DICTIONARY = [
  Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0x0f]),
  Buffer.from([0x0a, 0x7f]),
  Buffer.from([0x0a, 0x00]),
  Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x07]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  Buffer.from([0x0d, 0, 0, 0, 0]),
  Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0, 0]),
  Buffer.from([0x0b]),
  Buffer.from([0x0c]),
];

interface Seed {
  readonly name: string;
  readonly value: object;
}

describe('fuzz: xDS resources into a live sidecar', function () {
  this.timeout(settings.seconds * 1000 + 60_000);
  let app: EchoUpstream;
  let cp: ControlPlane;
  let ads: FuzzAdsServer;
  let sidecar: LiveSidecar;
  const seeds = new Map<string, Seed[]>();
  const pristine = new Map<string, AnyResource[]>();

  before(async () => {
    app = await startEchoUpstream();
    cp = await startControlPlane(fuzzMesh(app.port));
    ads = new FuzzAdsServer();
    // What the control plane would serve this sidecar: its resources are the seeds.
    ads.onNode = (node) => {
      const w = workloadFromNode(node);
      const snapshot = cp.cache.snapshotFor(w.ok ? w.workload : undefined);
      for (const typeUrl of TYPES) {
        const list = [...(snapshot.types.get(typeUrl)?.byName.values() ?? [])].map((r) => ({
          name: r.name,
          value: r.value,
        }));
        seeds.set(typeUrl, list);
        pristine.set(
          typeUrl,
          list.map((r) => ({ type_url: typeUrl, value: encodeResource(typeUrl, r.value) })),
        );
        ads.set(typeUrl, pristine.get(typeUrl)!);
      }
    };
    await ads.start();
    sidecar = await LiveSidecar.start([
      '--xds',
      `127.0.0.1:${ads.port}`,
      '--sotw',
      '--service',
      'fuzz-client',
    ]);
  });

  after(async () => {
    await sidecar?.kill();
    ads?.close();
    await cp?.close();
    await app?.close();
  });

  it('answers every mutated resource with an ACK or a NACK, and takes the original back', async () => {
    const tokens = new Tokens();
    const bytesMutator = new Mutator(PROTO_DICTIONARY);
    let acks = 0;
    let nacks = 0;
    const report = await runFuzz({
      name: 'xds-resources',
      settings,
      concurrency: 1,
      process: () => sidecar,
      restart: () => sidecar.restart(),
      knownCrashes: KNOWN_CRASHES,
      canary: (n) => httpCanary(sidecar.ports.outbound, tokens, n),
      async runCase(rng, _n, input) {
        const typeUrl = rng.pick(TYPES);
        const list = seeds.get(typeUrl) ?? [];
        const resources = [...(pristine.get(typeUrl) ?? [])];
        const i = rng.int(list.length);
        const kind = rng.int(5);
        let described: string;
        if (kind <= 2 && list.length > 0) {
          const value = mutateJson(rng, list[i].value);
          described = JSON.stringify(value);
          let bytes: Uint8Array;
          try {
            bytes = encodeResource(typeUrl, value);
          } catch {
            // Not encodable (a value of the wrong kind for its field): mutate the bytes instead.
            bytes = bytesMutator.mutate(rng, Buffer.from(resources[i].value));
            described = `bytes ${Buffer.from(bytes).toString('hex')}`;
          }
          resources[i] = { type_url: typeUrl, value: bytes };
        } else if (kind === 3 && list.length > 0) {
          const bytes = bytesMutator.mutate(rng, Buffer.from(resources[i].value), 6);
          described = `bytes ${bytes.toString('hex')}`;
          resources[i] = { type_url: typeUrl, value: bytes };
        } else {
          const other = rng.pick(TYPES.filter((t) => t !== typeUrl));
          const from = pristine.get(other) ?? [];
          const pick = rng.int(3);
          described = ['a resource of another type', 'a duplicate resource', 'no resources'][pick];
          if (pick === 0 && from.length)
            resources.push({ type_url: typeUrl, value: rng.pick(from).value });
          else if (pick === 1 && resources.length) resources.push(resources[i]);
          else resources.length = 0;
        }
        input(`${typeUrl.split('.').at(-1)}[${i}] ${described}`);
        for (const nonce of ads.push(typeUrl, resources)) {
          const r = await ads.reply(nonce, REPLY_MS);
          if (r.ack) acks++;
          else nacks++;
        }
        for (const nonce of ads.push(typeUrl, pristine.get(typeUrl) ?? [])) {
          const r = await ads.reply(nonce, REPLY_MS);
          if (!r.ack)
            throw new FuzzFinding(`the original resources were NACKed after the case: ${r.error}`);
        }
      },
    });
    console.log(`      xds-resources: ${acks} mutated sets ACKed, ${nacks} NACKed`);
    assert.ok(report.cases > 0);
  });
});

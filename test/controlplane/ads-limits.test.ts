/**
 * The control plane bounded against abusive xDS clients (issue 12): enormous subscriptions,
 * fresh SotW name lists on every request, made-up type URLs, bogus nonces, huge NACK
 * messages, and connect/disconnect loops. Real gRPC streams to an in-process control plane;
 * each case asserts that the abuser gets a clear answer and that what the control plane
 * keeps stays within its bound, while a well-behaved client keeps being served.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { type AdsLimits, ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createAdsClient, types } from '../../src/xds/index.js';
import { mesh, service } from '../support/mesh.js';
import { waitFor } from '../support/wait-for.js';
import { sidecarNode } from '../xds-client/support.js';

type Message = Record<string, unknown>;

function start(limits: Partial<AdsLimits> = {}): Promise<ControlPlane> {
  return ControlPlane.start({
    config: mesh(service('web', 8080, 'http', [9080]), service('api', 8080, 'http', [9081])),
    xdsPort: 0,
    httpPort: 0,
    debounceMs: 10,
    warmupMs: 0,
    gracePeriodMs: 0,
    limits,
    log: silentLogger(),
  });
}

/** One ADS stream: what it received, its end, and a way to write. */
class Stream {
  readonly received: Message[] = [];
  error: grpc.ServiceError | undefined;
  private readonly client;
  readonly call: grpc.ClientDuplexStream<object, object>;

  constructor(port: number, mode: 'sotw' | 'delta') {
    this.client = createAdsClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    this.call =
      mode === 'sotw'
        ? this.client.StreamAggregatedResources()
        : this.client.DeltaAggregatedResources();
    this.call.on('data', (m: Message) => this.received.push(m));
    this.call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
    });
  }

  write(m: Message): void {
    this.call.write(m);
  }

  async next(count: number, what: string): Promise<Message> {
    await waitFor(what, () => this.received.length >= count || this.error !== undefined, 15_000);
    if (this.received.length < count) throw new Error(`${what}: ${this.error?.message}`);
    return this.received[count - 1];
  }

  async ended(what: string): Promise<grpc.ServiceError> {
    await waitFor(what, () => this.error !== undefined, 15_000);
    return this.error as grpc.ServiceError;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

function metric(cp: ControlPlane, pattern: RegExp): number {
  const m = pattern.exec(cp.metrics.render());
  return m ? Number(m[1]) : 0;
}

const NODE = { id: 'abuser' };

describe('control plane: bounded against abusive xDS clients', function () {
  this.timeout(60_000);
  let cp: ControlPlane | undefined;
  const streams: Stream[] = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await cp?.close();
    cp = undefined;
  });
  const open = (mode: 'sotw' | 'delta') => {
    const s = new Stream(cp?.xdsPort ?? 0, mode);
    streams.push(s);
    return s;
  };

  /** A client that behaves: asks for the clusters and gets them. */
  async function wellBehaved(): Promise<void> {
    const good = open('sotw');
    good.write({ node: { id: 'good' }, type_url: types.CLUSTER });
    const r = await good.next(1, 'a well-behaved client’s clusters');
    assert.equal((r.resources as unknown[]).length, 2);
  }

  it('regression: a delta client subscribing to 100,000 names is answered (not in quadratic time), others too', async () => {
    cp = await start();
    const names = Array.from(
      { length: 100_000 },
      (_, i) => `outbound|8080||made-up-${i}.default.svc`,
    );
    const big = open('delta');
    const t0 = performance.now();
    big.write({ node: NODE, type_url: types.ENDPOINT, resource_names_subscribe: names });
    const r = await big.next(1, 'the answer to 100,000 names');
    // Every name is unknown: each one is said to be removed, so the client need not wait.
    assert.equal((r.removed_resources as string[]).length, 100_000);
    console.log(`      (100,000 delta names answered in ${Math.round(performance.now() - t0)} ms)`);
    await wellBehaved();
  });

  it('refuses a subscription over --max-subscribed-names with RESOURCE_EXHAUSTED, counted', async () => {
    cp = await start({ maxSubscribedNames: 1000 });
    const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);
    const delta = open('delta');
    delta.write({ node: NODE, type_url: types.ENDPOINT, resource_names_subscribe: names(1000) });
    await delta.next(1, 'the answer to 1,000 names (at the limit)');
    delta.write({ type_url: types.ENDPOINT, resource_names_subscribe: ['one-more'] });
    const err = await delta.ended('the refusal of name 1,001');
    assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /subscription to 1001 EDS names is over the limit of 1000 per type/);
    const sotw = open('sotw');
    sotw.write({ node: NODE, type_url: types.CLUSTER, resource_names: names(1001) });
    assert.equal((await sotw.ended('the SotW refusal')).code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(metric(cp, /ferry_xds_limit_refusals_total\{limit="subscribed_names"\} (\d+)/), 2);
    await wellBehaved();
  });

  it('regression: SotW clients with fresh name lists keep the response cache within its bound', async () => {
    cp = await start({ sotwCacheEntries: 50 });
    const s = open('sotw');
    let nonce = '';
    for (let i = 0; i < 400; i++) {
      s.write({
        node: NODE,
        type_url: types.ENDPOINT,
        resource_names: [`fresh-${i}`, 'outbound|8080||web.default.svc.cluster.local'],
        response_nonce: nonce,
      });
      const r = await s.next(i + 1, `response ${i + 1}`);
      nonce = r.nonce as string;
      assert.ok(cp.ads.sotwCache.size <= 50, `cache size ${cp.ads.sotwCache.size}`);
    }
    assert.ok(metric(cp, /ferry_xds_sotw_cache_evictions_total (\d+)/) >= 350);
    assert.ok(metric(cp, /ferry_xds_sotw_cache_entries (\d+)/) <= 50);
    await wellBehaved();
  });

  it('refuses a made-up type URL with INVALID_ARGUMENT, keeps no state for it; a known unserved type gets an empty answer', async () => {
    cp = await start();
    const known = open('sotw');
    known.write({
      node: NODE,
      type_url: `${types.TYPE_PREFIX}envoy.config.route.v3.ScopedRouteConfiguration`,
    });
    assert.deepEqual((await known.next(1, 'an empty answer')).resources ?? [], []);
    const made = open('delta');
    made.write({ node: NODE, type_url: `${types.TYPE_PREFIX}made.up.Type1` });
    const err = await made.ended('the refusal of a made-up type');
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.match(
      err.details,
      /type_url "type\.googleapis\.com\/made\.up\.Type1" is not an xDS resource type/,
    );
    assert.equal(metric(cp, /ferry_xds_limit_refusals_total\{limit="unknown_type"\} (\d+)/), 1);
    await wellBehaved();
  });

  it('ignores bogus nonces (counted, nothing kept) and keeps at most 1 KiB of a NACK message', async () => {
    cp = await start();
    const s = open('sotw');
    s.write({ node: NODE, type_url: types.CLUSTER });
    const first = await s.next(1, 'the first response');
    for (let i = 0; i < 1000; i++)
      s.write({ type_url: types.CLUSTER, response_nonce: `bogus-${i}`, resource_names: [`x${i}`] });
    await waitFor('1,000 stale nonces counted', () =>
      cp ? metric(cp, /ferry_xds_stale_nonces_total (\d+)/) === 1000 : false,
    );
    const status = cp.ads.status().find((c) => c.nodeId === 'abuser');
    assert.equal(status?.types.length, 1);
    assert.deepEqual(status?.types[0].names, []);
    assert.equal(s.received.length, 1, 'no answer to a stale request');
    // A NACK of the real response, with a 100 KB message.
    s.write({
      type_url: types.CLUSTER,
      response_nonce: first.nonce,
      version_info: '',
      error_detail: { code: 3, message: 'x'.repeat(100_000) },
    });
    await waitFor('the NACK recorded', () =>
      Boolean(cp?.ads.status().find((c) => c.nodeId === 'abuser')?.types[0].lastNack),
    );
    const nack = cp.ads.status().find((c) => c.nodeId === 'abuser')?.types[0].lastNack;
    assert.ok((nack?.message.length ?? 0) < 1100, `kept ${nack?.message.length} characters`);
    assert.match(nack?.message ?? '', /… \(100000 characters\)$/);
  });

  it('connect/disconnect loops leak nothing: no stream, registration or gauge left behind', async () => {
    cp = await start({ sotwCacheEntries: 64 });
    for (let i = 0; i < 150; i++) {
      const s = new Stream(cp.xdsPort, i % 2 === 0 ? 'sotw' : 'delta');
      s.write({
        node: i % 3 === 0 ? { id: `p-${i}` } : sidecarNode(`loop-${i}`),
        type_url: types.CLUSTER,
      });
      await s.next(1, `loop ${i}`);
      s.close();
    }
    const live = cp;
    await waitFor('every stream gone', () => live.ads.streamCount === 0);
    await waitFor('every registration gone', () => live.registry.workloads().length === 0);
    assert.equal(metric(cp, /ferry_xds_connected_clients\{mode="sotw"\} (\d+)/), 0);
    assert.equal(metric(cp, /ferry_xds_connected_clients\{mode="delta"\} (\d+)/), 0);
    assert.ok(cp.ads.sotwCache.size <= 64);
    await wellBehaved();
  });
});

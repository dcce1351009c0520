/**
 * LiveTelemetry: the flags decide what the configuration leaves unsaid, the configuration
 * wins where it speaks, a new tracer takes over only once it runs (the old one serves until
 * then), and a tracer no listener uses is shut down with its counts kept.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../src/log/index.js';
import type { TracingSpec } from '../../../src/proxy/runtime/index.js';
import { LiveTelemetry } from '../../../src/proxy/telemetry/index.js';

// Nothing listens there: a tracer starts without its collector (exports would be dropped).
const FLAG_ENDPOINT = 'http://127.0.0.1:9/v1/traces';
const MESH: TracingSpec = {
  endpoint: 'http://127.0.0.1:9/mesh/v1/traces',
  protocol: 'http/protobuf',
  sampling: 0.5,
  propagation: ['b3'],
};

describe('LiveTelemetry', () => {
  let dir: string;
  let live: LiveTelemetry;
  let changes = 0;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-live-telemetry-'));
    changes = 0;
    live = new LiveTelemetry(
      {
        tracing: { endpoint: FLAG_ENDPOINT },
        accessLog: path.join(dir, 'flag.jsonl'),
        service: 'api',
        namespace: 'default',
      },
      silentLogger(),
      () => changes++,
    );
    await live.start();
  });

  afterEach(async () => {
    await live.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('follows the flags where the configuration says nothing', () => {
    assert.ok(live.of('outbound').tracing);
    assert.ok(live.of('outbound').accessLog);
    assert.equal(live.of('inbound').tracing, live.of('outbound').tracing, 'one tracer for both');
    assert.notEqual(
      live.of('inbound').accessLog,
      live.of('outbound').accessLog,
      'one log per side',
    );
  });

  it('a mesh tracer takes over once it runs; until then the flags’ one serves', async () => {
    const flags = live.of('outbound').tracing;
    const applied = live.apply({ outbound: { tracing: MESH }, inbound: {} });
    assert.equal(live.of('outbound').tracing, flags, 'no gap while the new tracer starts');
    await applied;
    const mesh = live.of('outbound').tracing;
    assert.ok(mesh && mesh !== flags);
    assert.equal(live.of('inbound').tracing, flags, 'the inbound side still follows the flags');
    assert.equal(changes, 1, 'the listeners were told once');
  });

  it('“off” in the configuration beats the flag; a path replaces it', () => {
    live.apply({
      outbound: { accessLog: 'off' },
      inbound: { accessLog: path.join(dir, 'mesh.jsonl') },
    });
    assert.equal(live.of('outbound').accessLog, undefined);
    assert.ok(live.of('inbound').accessLog);
    assert.ok(live.of('outbound').tracing, 'tracing is untouched');
  });

  it('a tracer no listener uses is shut down; its spans stay counted', async () => {
    const flags = live.of('outbound').tracing;
    assert.ok(flags);
    const span = flags.startRequest(false, {}, 'GET', 'api:8080', '/', false);
    flags.end(span, 200, '', '');
    await live.apply({
      outbound: { tracing: MESH },
      inbound: { tracing: MESH },
    });
    assert.notEqual(live.of('inbound').tracing, flags);
    await live.close();
    // The span could not be exported (nothing listens): it is counted as dropped.
    assert.deepEqual(
      { ended: live.spanStats.ended, dropped: live.spanStats.dropped },
      { ended: 1, dropped: 1 },
    );
  });
});

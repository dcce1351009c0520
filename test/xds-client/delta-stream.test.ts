import assert from 'node:assert/strict';
import { types } from '../../src/xds/index.js';
import { DeltaStream } from '../../src/xds-client/delta-stream.js';
import { FakeCall, recordingEvents } from './fake-call.js';

const NODE = { id: 'n1' };

function open(verdict?: Parameters<typeof recordingEvents>[0]) {
  const call = new FakeCall();
  const rec = recordingEvents(verdict);
  const stream = new DeltaStream({
    call: call.asCall(),
    node: NODE,
    events: rec.events,
    versionsOf: (typeUrl): Record<string, string> =>
      typeUrl === types.ENDPOINT ? { a: 'v1' } : {},
  });
  return { call, stream, ...rec };
}

describe('delta stream', () => {
  it('subscribes with initial_resource_versions, then by difference', () => {
    const { call, stream } = open();
    stream.want(types.CLUSTER, '*');
    stream.want(types.ENDPOINT, new Set(['a', 'b']));
    stream.want(types.ENDPOINT, new Set(['b', 'c']));
    stream.want(types.ENDPOINT, new Set(['b', 'c']));
    assert.deepEqual(call.written, [
      {
        node: NODE,
        type_url: types.CLUSTER,
        resource_names_subscribe: [],
        initial_resource_versions: {},
      },
      {
        type_url: types.ENDPOINT,
        resource_names_subscribe: ['a', 'b'],
        initial_resource_versions: { a: 'v1' },
      },
      {
        type_url: types.ENDPOINT,
        resource_names_subscribe: ['c'],
        resource_names_unsubscribe: ['a'],
      },
    ]);
  });

  it('hands on resources and removed_resources, and ACKs or NACKs by nonce', () => {
    const { call, stream, updates } = open((u) => (u.nonce === 'n2' ? 'no' : undefined));
    stream.want(types.CLUSTER, '*');
    const any = { type_url: types.CLUSTER, value: Buffer.from([]) };
    call.reply({
      type_url: types.CLUSTER,
      system_version_info: '7',
      nonce: 'n1',
      resources: [{ name: 'c1', version: 'h1', resource: any }],
      removed_resources: ['c0'],
    });
    call.reply({ type_url: types.CLUSTER, nonce: 'n2', resources: [] });
    assert.deepEqual(updates[0], {
      typeUrl: types.CLUSTER,
      version: '7',
      nonce: 'n1',
      resources: [{ name: 'c1', version: 'h1', any }],
      removed: ['c0'],
      scope: undefined,
    });
    assert.deepEqual(call.written.slice(1), [
      { type_url: types.CLUSTER, response_nonce: 'n1' },
      { type_url: types.CLUSTER, response_nonce: 'n2', error_detail: { code: 3, message: 'no' } },
    ]);
  });
});

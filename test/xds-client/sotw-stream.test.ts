import assert from 'node:assert/strict';
import { types } from '../../src/xds/index.js';
import { SotwStream } from '../../src/xds-client/sotw-stream.js';
import { FakeCall, recordingEvents } from './fake-call.js';

const NODE = { id: 'n1' };

function open(
  verdict?: Parameters<typeof recordingEvents>[0],
  versionsOf: (typeUrl: string) => Record<string, string> = () => ({}),
) {
  const call = new FakeCall();
  const rec = recordingEvents(verdict);
  const stream = new SotwStream({
    call: call.asCall(),
    node: NODE,
    events: rec.events,
    versionsOf,
  });
  return { call, stream, ...rec };
}

describe('SotW stream', () => {
  it('sends the node once, wildcards as empty lists, and no request for nothing named', () => {
    const { call, stream } = open();
    stream.want(types.CLUSTER, '*');
    stream.want(types.ENDPOINT, new Set());
    stream.want(types.LISTENER, '*');
    stream.want(types.LISTENER, '*');
    assert.deepEqual(call.written, [
      {
        node: NODE,
        type_url: types.CLUSTER,
        resource_names: [],
        version_info: '',
        response_nonce: '',
      },
      { type_url: types.LISTENER, resource_names: [], version_info: '', response_nonce: '' },
    ]);
  });

  it('on a new stream, says which version it already has (so the server knows it is reconnecting)', () => {
    const { call, stream } = open(undefined, (typeUrl) =>
      typeUrl === types.CLUSTER ? { a: 'v7', b: 'v7' } : ({} as Record<string, string>),
    );
    stream.want(types.CLUSTER, '*');
    stream.want(types.LISTENER, '*');
    assert.deepEqual(
      call.written.map((r) => (r as { version_info: string }).version_info),
      ['v7', ''],
    );
  });

  it('ACKs with version, nonce and the names asked for; NACKs with the previous version', () => {
    let reject = false;
    const { call, stream } = open(() => (reject ? 'bad route' : undefined));
    stream.want(types.ROUTE, new Set(['b', 'a']));
    call.reply({ type_url: types.ROUTE, version_info: '1', nonce: 'n1', resources: [] });
    reject = true;
    call.reply({ type_url: types.ROUTE, version_info: '2', nonce: 'n2', resources: [] });
    assert.deepEqual(call.written.slice(1), [
      {
        type_url: types.ROUTE,
        resource_names: ['a', 'b'],
        version_info: '1',
        response_nonce: 'n1',
      },
      {
        type_url: types.ROUTE,
        resource_names: ['a', 'b'],
        version_info: '1',
        response_nonce: 'n2',
        error_detail: { code: 3, message: 'bad route' },
      },
    ]);
  });

  it('gives a response the scope the server surely saw (a crossing push does not make a new name missing)', () => {
    const { call, stream, updates } = open();
    stream.want(types.ENDPOINT, new Set(['a']));
    call.reply({ type_url: types.ENDPOINT, version_info: '1', nonce: 'n1', resources: [] });
    // "b" is asked for after n1; n2 may be a push the server made before reading that request.
    stream.want(types.ENDPOINT, new Set(['a', 'b']));
    call.reply({ type_url: types.ENDPOINT, version_info: '2', nonce: 'n2', resources: [] });
    call.reply({ type_url: types.ENDPOINT, version_info: '2', nonce: 'n3', resources: [] });
    assert.deepEqual(
      updates.map((u) => (u.scope === '*' ? '*' : [...(u.scope ?? [])])),
      [['a'], ['a'], ['a', 'b']],
    );
    assert.deepEqual(call.written.at(-1)?.resource_names, ['a', 'b']);
  });

  it('reports the end once and writes nothing after it', () => {
    const { call, stream, ends } = open();
    stream.want(types.CLUSTER, '*');
    call.end(14, 'unavailable');
    call.end(14, 'again');
    stream.want(types.LISTENER, '*');
    assert.deepEqual(ends, [{ code: 14, details: 'unavailable' }]);
    assert.equal(call.written.length, 1);
  });
});

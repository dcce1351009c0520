import assert from 'node:assert/strict';
import {
  inboundClusterName,
  outboundClusterName,
  outboundRouteConfigName,
} from '../../../src/controlplane/translate/index.js';

describe('translate: names', () => {
  it('outbound clusters follow outbound|PORT|SUBSET|HOST', () => {
    assert.equal(
      outboundClusterName(50051, 'echo.default.svc.cluster.local'),
      'outbound|50051||echo.default.svc.cluster.local',
    );
    assert.equal(
      outboundClusterName(8080, 'web.default.svc.cluster.local', 'v2'),
      'outbound|8080|v2|web.default.svc.cluster.local',
    );
  });

  it('inbound clusters are inbound|PORT||', () => {
    assert.equal(inboundClusterName(8080), 'inbound|8080||');
  });

  it('outbound route configs are outbound.<namespace>', () => {
    assert.equal(outboundRouteConfigName('shop'), 'outbound.shop');
  });
});

import assert from 'node:assert/strict';
import { ResourceTimeouts } from '../../src/xds-client/resource-timeouts.js';

describe('resource timeouts', () => {
  it('expires only what is still missing when its time is up', async () => {
    const expired: string[] = [];
    const timeouts = new ResourceTimeouts(30, (typeUrl, name) =>
      expired.push(`${typeUrl}/${name}`),
    );
    timeouts.track([
      { typeUrl: 'RDS', name: 'a' },
      { typeUrl: 'RDS', name: 'b' },
    ]);
    timeouts.track([{ typeUrl: 'RDS', name: 'b' }]);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(expired, ['RDS/b']);
    timeouts.track([{ typeUrl: 'EDS', name: 'c' }]);
    timeouts.clear();
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(expired, ['RDS/b']);
  });
});

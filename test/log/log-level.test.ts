/** setLogLevel: a level set at run time reaches the children made before (pino does not). */
import assert from 'node:assert/strict';
import { createLogger, setLogLevel } from '../../src/log/index.js';

describe('setLogLevel', () => {
  it('changes the root logger and every child made from it', () => {
    const root = createLogger({ level: 'error', name: 'test' });
    const child = root.child({ component: 'xds-client' });
    const grandchild = child.child({ stream: 1 });
    assert.equal(child.level, 'error');
    setLogLevel(root, 'debug');
    assert.equal(root.level, 'debug');
    assert.equal(child.level, 'debug');
    assert.equal(grandchild.level, 'debug');
    assert.equal(grandchild.isLevelEnabled('debug'), true);
    setLogLevel(root, 'error');
    assert.equal(grandchild.isLevelEnabled('debug'), false);
  });
});

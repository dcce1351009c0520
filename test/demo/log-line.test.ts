import assert from 'node:assert/strict';
import { humanLines } from '../../src/demo/log-line.js';

const pino = (o: object) => JSON.stringify({ time: 1, pid: 2, hostname: 'h', name: 'n', ...o });

describe('demo log lines', () => {
  it('a rejected mesh file edit: one FILE:LINE:COL line per error, not JSON', () => {
    const line = pino({
      level: 50,
      file: '/x/mesh.yaml',
      errors: [
        "/x/mesh.yaml:23:7: services[0].policy.timeoutx: unknown property 'timeoutx'",
        '/x/mesh.yaml:40:9: services[2].routes[0].backends[0].weight: must be at least 0',
      ],
      msg: 'mesh file change rejected; the last good configuration stays in force',
    });
    assert.deepEqual(humanLines(line), [
      "/x/mesh.yaml:23:7: services[0].policy.timeoutx: unknown property 'timeoutx' (edit rejected; the last good configuration stays)",
      '/x/mesh.yaml:40:9: services[2].routes[0].backends[0].weight: must be at least 0 (edit rejected; the last good configuration stays)',
    ]);
  });

  it('an applied edit: the file and what changed', () => {
    const line = (changes: string[]) =>
      pino({ level: 30, file: '/x/mesh.yaml', changes, msg: 'mesh file changed; applying' });
    assert.deepEqual(humanLines(line(['routes of reviews changed', 'service ratings added'])), [
      '/x/mesh.yaml applied: routes of reviews changed; service ratings added',
    ]);
    assert.deepEqual(humanLines(line([])), [
      '/x/mesh.yaml applied: nothing that the mesh uses changed',
    ]);
  });

  it('other warnings and errors in words with their fields; information left out; text kept', () => {
    assert.deepEqual(
      humanLines(
        pino({
          level: 40,
          component: 'x',
          cluster: 'c',
          host: '1.2.3.4:5',
          msg: 'upstream host ejected',
        }),
      ),
      ['warning: upstream host ejected (cluster=c, host=1.2.3.4:5)'],
    );
    assert.deepEqual(humanLines(pino({ level: 50, msg: 'boom', err: { a: 1 } })), [
      'error: boom (err={"a":1})',
    ]);
    assert.deepEqual(humanLines(pino({ level: 30, msg: 'xDS stream connected' })), []);
    assert.deepEqual(humanLines('ferry: cannot listen'), ['ferry: cannot listen']);
    assert.deepEqual(humanLines('{not json'), ['{not json']);
  });
});

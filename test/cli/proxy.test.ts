/** `ferry proxy`'s limit flags: a bad value is a one-line usage error naming the flag. */
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/args.js';
import { runProxy } from '../../src/cli/proxy.js';

describe('ferry proxy: limit flags', () => {
  const base = ['--xds', '127.0.0.1:1', '--service', 'web'];
  for (const [flag, value, says] of [
    ['--headers-timeout', '60', /--headers-timeout must be a positive duration/],
    ['--idle-timeout', '0s', /--idle-timeout must be a positive duration/],
    ['--max-request-headers-kb', '0', /--max-request-headers-kb must be a positive whole number/],
    ['--max-headers', '2', /--max-headers must be at least 4/],
    ['--max-pipelined-kb', '1.5', /--max-pipelined-kb must be a positive whole number/],
    ['--h2-max-concurrent-streams', 'many', /--h2-max-concurrent-streams must be/],
    ['--h2-reset-min-streams', '0', /--h2-reset-min-streams must be/],
    ['--concurrency', '0', /--concurrency must be a whole number 1\.\.256, got "0"/],
    ['--concurrency', '2.5', /--concurrency must be a whole number 1\.\.256/],
  ] as const) {
    it(`refuses ${flag} ${value}`, async () => {
      await assert.rejects(
        runProxy([...base, flag, value]),
        (e: Error) => e instanceof UsageError && says.test(e.message) && !e.message.includes('\n'),
      );
    });
  }
});

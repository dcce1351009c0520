/** The CLI's argument helpers: did-you-mean, node's parseArgs errors in Ferry's words. */
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import {
  didYouMean,
  editDistance,
  flagsInHelp,
  flagsOfPort,
  parseArgsUsageError,
  parsePort,
} from '../../src/cli/args.js';

const HELP = `Options:
      --control-plane URL  the control plane
  -o, --output FORMAT      table | json
      --fqdn FQDN          only this service
`;

function parseError(args: string[]): string {
  try {
    parseArgs({
      args,
      options: {
        'control-plane': { type: 'string' },
        output: { type: 'string', short: 'o' },
        fqdn: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    return parseArgsUsageError(err, HELP)?.message ?? `not translated: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('CLI arguments', () => {
  it('measures typos: a swap, a missing letter, a wrong letter count as one edit', () => {
    assert.equal(editDistance('verison', 'version'), 1);
    assert.equal(editDistance('proxy-stats', 'proxy-status'), 1);
    assert.equal(editDistance('clustr', 'cluster'), 1);
    assert.equal(editDistance('abc', 'xyz'), 3);
  });

  it('suggests the closest candidate only when it is close', () => {
    assert.equal(didYouMean('verison', ['version', 'proxy', 'demo']), 'version');
    assert.equal(didYouMean('proxy-stauts', ['proxy-status', 'proxy-config']), 'proxy-status');
    assert.equal(didYouMean('--outptu', ['--output', '--control-plane']), '--output');
    assert.equal(didYouMean('--control', ['--output', '--control-plane']), '--control-plane');
    assert.equal(didYouMean('frobnicate', ['version', 'proxy']), undefined);
  });

  it('reads the flags a help text lists', () => {
    assert.deepEqual(flagsInHelp(HELP), ['--control-plane', '--output', '--fqdn']);
  });

  it('turns an unknown flag into one line with did-you-mean, never node\'s "after --" advice', () => {
    const message = parseError(['--fdqn', 'reviews']);
    assert.equal(message, 'unknown option --fdqn (did you mean --fqdn?)');
    assert.doesNotMatch(message, /after '--'/);
    assert.equal(parseError(['--zzzzzz']), 'unknown option --zzzzzz');
  });

  it('says a flag needs a value, or takes none (regression: --fqdn at the end of the line)', () => {
    assert.equal(parseError(['cluster', 'web', '--fqdn']), '--fqdn needs a value');
    assert.equal(parseError(['-o']), '--output needs a value');
    assert.equal(parseError(['--help=yes']), '--help takes no value');
  });

  it('remembers which flag chose a port, for "port in use" errors', () => {
    assert.equal(parsePort('--outbound-port', undefined, 25001), 25001);
    assert.equal(parsePort('--admin-port', '25002', 15000), 25002);
    assert.deepEqual(flagsOfPort(25001), ['--outbound-port']);
    assert.deepEqual(flagsOfPort(25002), ['--admin-port']);
    assert.deepEqual(flagsOfPort(25003), []);
    assert.throws(() => parsePort('--admin-port', '70000', 0), /--admin-port must be a port/);
  });
});

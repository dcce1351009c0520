/** `ferry proxy` reads the app probes the injector put in its environment, and refuses bad ones. */
import assert from 'node:assert/strict';
import { runCli } from '../kube/support/run-cli.js';

describe('ferry proxy: FERRY_APP_PROBES', () => {
  it('refuses probes that are not JSON, or name no /app-health/ path, as a usage error naming the variable', async () => {
    for (const [value, message] of [
      ['{', /^ferry: FERRY_APP_PROBES: is not JSON/],
      [
        '{"/metrics": {"tcpSocket": {"port": 8080}}}',
        /FERRY_APP_PROBES "\/metrics": is not a path under \/app-health\//,
      ],
    ] as const) {
      const r = await runCli('proxy.js', 'runProxy', ['--xds', '127.0.0.1:1', '--service', 'web'], {
        env: { ...process.env, FERRY_APP_PROBES: value },
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });
});

/** `ferry token`: issues a workload token, the credential a sidecar shows for its certificate. */
import { parseArgs } from 'node:util';
import { readTokenKey, WorkloadTokens } from '../identity/index.js';
import { parseDuration } from '../mesh/index.js';
import { UsageError } from './args.js';

export const TOKEN_HELP = `Usage: ferry token --ca-dir DIR --namespace NS --service-account SA [--ttl 24h]

Prints a workload token: the credential a sidecar presents to the control plane's
identity service to get its certificate for spiffe://<trust-domain>/ns/NS/sa/SA.
The token is signed with the key in the CA directory (token-key), so the control plane
using that directory accepts it; anyone holding it can get that identity, so keep it
like a password. The control plane makes the key on first start; start it first.

Options:
      --ca-dir DIR            the control plane's CA directory              (required)
  -n, --namespace NS          the workload's namespace                      (required)
  -s, --service-account SA    the workload's service account                (required)
      --ttl DURATION          how long the token is valid, e.g. 1h, 30d is 720h (default 24h)
  -h, --help                  show this help
`;

export async function runToken(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'ca-dir': { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'service-account': { type: 'string', short: 's' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(TOKEN_HELP);
    return;
  }
  const dir = values['ca-dir'];
  if (!dir) throw new UsageError('--ca-dir DIR is required');
  if (!values.namespace) throw new UsageError('--namespace NS is required');
  if (!values['service-account']) throw new UsageError('--service-account SA is required');
  const ttlMs = values.ttl === undefined ? 86_400_000 : parseDuration(values.ttl);
  if (ttlMs === undefined || ttlMs < 1000)
    throw new UsageError(
      `--ttl must be a duration of at least 1s (e.g. 1h, 24h), got "${values.ttl}"`,
    );
  const tokens = new WorkloadTokens(readTokenKey(dir));
  const token = tokens.issue(
    { namespace: values.namespace, serviceAccount: values['service-account'] },
    ttlMs,
  );
  process.stdout.write(`${token}\n`);
}

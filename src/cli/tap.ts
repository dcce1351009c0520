/**
 * `ferry tap`: requests as they pass through one sidecar or every sidecar of a service, a line
 * each, the way `linkerd viz tap` shows them
 * (https://linkerd.io/2/reference/cli/viz/#tap): direction, source and destination, method,
 * authority, path, status, latency, the peer's identity and Envoy's response flags.
 */
import { parseArgs } from 'node:util';
import type { TapEvent } from '../proxy/tap/index.js';
import { UsageError } from './args.js';
import { type CommandIo, PROCESS_IO, positiveInt } from './command-io.js';
import {
  FILTER_HELP,
  FILTER_OPTIONS,
  openTapStreams,
  type TapTarget,
  tapQuery,
  tapTargets,
  untilStopped,
} from './tap-streams.js';

export const TAP_HELP = `Usage: ferry tap TARGET [options]

Streams the requests passing through a sidecar (or every sidecar of a service) as they
finish, one line each, until Ctrl-C:

  rsp sidecar=web-1.default dir=out src=web.default dst=api.default :method=GET
      :authority=api:8080 :path=/users :status=200 latency=1.204ms peer=- flags=-
      upstream=10.0.0.7:15006

(one line per request; peer is the caller's SPIFFE ID on mutual TLS, flags Envoy's response
flags such as UF, NR or UO). Tapping costs the sidecar nothing while nobody taps.

${FILTER_HELP}
Output:
  -o, --output FORMAT      line | json (the sidecar's events, one JSON object a line)
                                                                          (default line)
      --count N            exit after N requests
  -h, --help               show this help
`;

export function formatTapLine(target: TapTarget, e: TapEvent): string {
  const grpc = e.grpcStatus === undefined ? '' : ` grpc-status=${e.grpcStatus}`;
  const upstream = e.upstream === undefined ? '' : ` upstream=${e.upstream}`;
  return (
    `rsp sidecar=${target.name} dir=${e.direction === 'inbound' ? 'in' : 'out'} src=${e.source} dst=${e.destination}` +
    ` :method=${e.method} :authority=${e.authority} :path=${e.path} :status=${e.status}${grpc}` +
    ` latency=${e.latencyMs}ms peer=${e.peer ?? '-'} flags=${e.flags}${upstream}\n`
  );
}

export async function runTap(argv: string[], io: CommandIo = PROCESS_IO): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...FILTER_OPTIONS,
      output: { type: 'string', short: 'o' },
      count: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.out.write(TAP_HELP);
    return;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const format = values.output ?? 'line';
  if (format !== 'line' && format !== 'json') {
    throw new UsageError(`-o must be line or json, got "${format}"`);
  }
  const count = positiveInt('--count', values.count);
  const targets = await tapTargets(positionals[0], values, io.env);
  let seen = 0;
  let reached: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const streams = await openTapStreams(targets, tapQuery(values), {
    event(t, e) {
      if (count !== undefined && seen >= count) return;
      seen++;
      io.out.write(
        format === 'json' ? `${JSON.stringify({ sidecar: t.name, ...e })}\n` : formatTapLine(t, e),
      );
      if (count !== undefined && seen >= count) reached();
    },
    dropped(t, n) {
      io.err.write(
        `ferry tap: ${t.name} left out ${n} requests (over --max-rps, or output too slow)\n`,
      );
    },
  });
  io.err.write(
    `tapping ${targets.map((t) => `${t.name} (${t.admin})`).join(', ')}; Ctrl-C to stop\n`,
  );
  try {
    await Promise.race([untilStopped(io.signal), enough, streams.failed]);
  } finally {
    streams.close();
  }
}

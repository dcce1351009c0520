/**
 * `ferry top`: the busiest paths through a sidecar (or a service's sidecars) right now, as
 * `linkerd viz top` shows them (https://linkerd.io/2/reference/cli/viz/#top): a table
 * refreshed every interval, counted from the tap stream since the command started.
 */
import { parseArgs } from 'node:util';
import type { TapEvent } from '../proxy/tap/index.js';
import { UsageError } from './args.js';
import { type CommandIo, durationFlag, PROCESS_IO, positiveInt } from './command-io.js';
import { renderTable } from './proxy-status.js';
import {
  FILTER_HELP,
  FILTER_OPTIONS,
  openTapStreams,
  tapQuery,
  tapTargets,
  untilStopped,
} from './tap-streams.js';

export const TOP_HELP = `Usage: ferry top TARGET [options]

The busiest paths through a sidecar (or every sidecar of a service), counted from its live
requests since the command started: source, destination, method, path, count, best, worst
and last latency, success rate (not 5xx). Refreshed every interval until Ctrl-C.

${FILTER_HELP}
Display:
      --interval DURATION  refresh every DURATION                        (default 1s)
      --once               print the table once, after one interval, and exit
      --limit N            rows shown, busiest first                     (default 20)
  -h, --help               show this help

--max-rps defaults to 1000 here: a sidecar busier than that is sampled, and the counts
are too (the table says so).
`;

/** Events per second top asks each sidecar for unless told otherwise. */
const TOP_MAX_RPS = 1000;

export interface TopRow {
  readonly source: string;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  count: number;
  successes: number;
  best: number;
  worst: number;
  last: number;
}

/** Requests counted by (source, destination, method, path without its query). */
export class TopTable {
  private readonly rows = new Map<string, TopRow>();
  dropped = 0;

  add(e: TapEvent): void {
    const q = e.path.indexOf('?');
    const path = q < 0 ? e.path : e.path.slice(0, q);
    const key = `${e.source}\u0000${e.destination}\u0000${e.method}\u0000${path}`;
    let row = this.rows.get(key);
    if (!row) {
      row = {
        source: e.source,
        destination: e.destination,
        method: e.method,
        path,
        count: 0,
        successes: 0,
        best: Number.POSITIVE_INFINITY,
        worst: 0,
        last: 0,
      };
      this.rows.set(key, row);
    }
    row.count++;
    if (e.status < 500) row.successes++;
    row.best = Math.min(row.best, e.latencyMs);
    row.worst = Math.max(row.worst, e.latencyMs);
    row.last = e.latencyMs;
  }

  /** Busiest first; ties by path. */
  top(limit: number): TopRow[] {
    return [...this.rows.values()]
      .sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1))
      .slice(0, limit);
  }
}

function ms(v: number): string {
  return v >= 100 ? `${Math.round(v)}ms` : `${Number(v.toPrecision(3))}ms`;
}

export function formatTop(table: TopTable, limit: number): string {
  const rows = table.top(limit);
  if (rows.length === 0) return 'No requests yet.\n';
  let text = renderTable(
    ['SOURCE', 'DESTINATION', 'METHOD', 'PATH', 'COUNT', 'BEST', 'WORST', 'LAST', 'SUCCESS'],
    rows.map((r) => [
      r.source,
      r.destination,
      r.method,
      r.path,
      String(r.count),
      ms(r.best),
      ms(r.worst),
      ms(r.last),
      `${((100 * r.successes) / r.count).toFixed(2)}%`,
    ]),
  );
  if (table.dropped > 0) {
    text += `(${table.dropped} requests over --max-rps were not counted)\n`;
  }
  return text;
}

const CLEAR = '\x1b[H\x1b[2J';

export async function runTop(argv: string[], io: CommandIo = PROCESS_IO): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...FILTER_OPTIONS,
      interval: { type: 'string' },
      once: { type: 'boolean' },
      limit: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.out.write(TOP_HELP);
    return;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const intervalMs = durationFlag('--interval', values.interval, 1000);
  const limit = positiveInt('--limit', values.limit) ?? 20;
  const targets = await tapTargets(positionals[0], values, io.env);
  const table = new TopTable();
  const streams = await openTapStreams(targets, tapQuery(values, TOP_MAX_RPS), {
    event: (_t, e) => table.add(e),
    dropped: (_t, n) => {
      table.dropped += n;
    },
  });
  io.err.write(`counting requests through ${targets.map((t) => t.name).join(', ')}\n`);
  const draw = () =>
    io.out.write(`${io.tty && !values.once ? CLEAR : ''}${formatTop(table, limit)}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    if (values.once) {
      await Promise.race([
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, intervalMs);
        }),
        untilStopped(io.signal),
        streams.failed,
      ]);
      draw();
      return;
    }
    timer = setInterval(draw, intervalMs);
    await Promise.race([untilStopped(io.signal), streams.failed]);
  } finally {
    clearTimeout(timer);
    clearInterval(timer);
    streams.close();
  }
}

/**
 * `ferry analyze`: the mesh file's semantic problems, each with FILE:LINE:COL, a stable code
 * and a fix, after `istioctl analyze`. With -f it reads files here; without, it asks the
 * running control plane, which also knows the endpoints and the proxyless clients.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type AnalysisResult, analyzeMesh, type Finding, formatFinding } from '../mesh/index.js';
import { UsageError } from './args.js';
import {
  CONTROL_PLANE_OPTION_HELP,
  controlPlaneUrl,
  getJson,
  type Output,
  serialize,
} from './control-plane-query.js';

export const ANALYZE_HELP = `Usage: ferry analyze [-f FILE]... [options]

Finds what is wrong in a mesh file beyond what makes it invalid, each problem with where
it is (FILE:LINE:COL), a code and the fix:
  FM0001 InvalidMeshFile             the file does not load (error)
  FM0101 UnknownSubset               a route or mirror names a subset that does not exist (error)
  FM0102 ShadowedRoute               an earlier route matches every request a route would
  FM0103 NoEndpoints                 a service has no endpoints           (needs the control plane)
  FM0104 StrictWithProxylessClients  proxyless gRPC clients call a STRICT service (error;
                                     needs the control plane)
  FM0105 AuthorizationNeverMatches   an authorization rule no request can match
  FM0106 WeightsNotHundred           a route's weights do not add up to 100
  FM0107 UnusedSubset                a subset no route names
Exits 1 when there is an error, 0 with only warnings or none.

Without -f, the running control plane analyzes its own mesh file, with the live checks.

Options:
  -f, --file FILE          a mesh file to analyze here (repeatable)
${CONTROL_PLANE_OPTION_HELP}
  -o, --output FORMAT      table | json | yaml                       (default table)
  -h, --help               show this help
`;

const LIVE_ONLY = 'FM0103 and FM0104';

interface FileAnalysis extends AnalysisResult {
  readonly file: string;
  /** Whether the live checks ran (the control plane analyzed it). */
  readonly live: boolean;
}

function summary(results: readonly FileAnalysis[]): string {
  const findings = results.flatMap((r) => r.findings);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  let out = findings.map((f) => `${formatFinding(f)}\n`).join('');
  if (findings.length === 0) {
    out += `✔ No problems found in ${results.map((r) => r.file).join(', ')}\n`;
  } else {
    out += `\n${errors} ${errors === 1 ? 'error' : 'errors'}, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}\n`;
  }
  if (results.some((r) => !r.live)) {
    out += `note: ${LIVE_ONLY} need the running mesh: run ferry analyze without -f to have the control plane check its file\n`;
  }
  return out;
}

/** Runs the command; resolves to the exit code (1 when any finding is an error). */
export async function runAnalyze(
  argv: string[],
  out: Output = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', short: 'f', multiple: true },
      'control-plane': { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    out.write(ANALYZE_HELP);
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(
      `unexpected argument "${positionals[0]}" (files go after -f: ferry analyze -f ${positionals[0]})`,
    );
  }
  const format = values.output ?? 'table';
  if (format !== 'table' && format !== 'json' && format !== 'yaml') {
    throw new UsageError(`-o must be table, json or yaml; got "${format}"`);
  }
  const files = values.file ?? [];
  if (files.length && values['control-plane'] !== undefined) {
    throw new UsageError('give -f FILE or --control-plane URL, not both');
  }
  const results: FileAnalysis[] = [];
  if (files.length) {
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new UsageError(
          `-f ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        );
      }
      const shown = path.relative(process.cwd(), file) || file;
      results.push({ file: shown, live: false, ...analyzeMesh(text, shown) });
    }
  } else {
    const base = controlPlaneUrl(values['control-plane'], env);
    const remote = await getJson<AnalysisResult & { file: string }>(base, '/debug/analyze');
    results.push({ ...remote, live: true });
  }
  const findings: Finding[] = results.flatMap((r) => [...r.findings]);
  out.write(format === 'table' ? summary(results) : serialize(results, format));
  return findings.some((f) => f.severity === 'error') ? 1 : 0;
}

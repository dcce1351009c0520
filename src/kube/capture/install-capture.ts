/**
 * Installs the capture rules with iptables-restore (and ip6tables-restore), replacing
 * Ferry's chains if an earlier run left them, so running `ferry init` twice in one network
 * namespace ends with one set of rules, not two.
 */
import type { CaptureConfig } from './capture-config.js';
import { CaptureError } from './capture-error.js';
import type { CommandResult, CommandRunner } from './command-runner.js';
import {
  CHAINS,
  type IpFamily,
  iptablesCleanupScript,
  iptablesRestoreScript,
} from './iptables-script.js';

const TOOLS = {
  4: { restore: 'iptables-restore', save: 'iptables-save' },
  6: { restore: 'ip6tables-restore', save: 'ip6tables-save' },
} as const;

export interface FamilyScript {
  readonly family: IpFamily;
  readonly script: string;
}

/** The scripts `ferry init` installs (or prints with --dry-run), IPv4 first. */
export function captureScripts(config: CaptureConfig): FamilyScript[] {
  const families: IpFamily[] = config.ipv6 ? [4, 6] : [4];
  return families.map((family) => ({ family, script: iptablesRestoreScript(config, family) }));
}

async function run(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
  input?: string,
): Promise<CommandResult> {
  try {
    return await runner.run(command, args, input);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CaptureError(
        'FERRY_CAPTURE_NO_IPTABLES',
        `${command} is not installed (Debian/Ubuntu package "iptables")`,
        { cause: err },
      );
    }
    throw err;
  }
}

function failed(what: string, r: CommandResult): CaptureError {
  return new CaptureError(
    'FERRY_CAPTURE_APPLY_FAILED',
    `${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim() || 'no output'}`,
  );
}

/** Whether Ferry's chains are present in the nat table of this family. */
export async function captureInstalled(runner: CommandRunner, family: IpFamily): Promise<boolean> {
  const tool = TOOLS[family].save;
  const r = await run(runner, tool, ['-t', 'nat']);
  if (r.code !== 0) throw failed(`${tool} -t nat`, r);
  return r.stdout.split('\n').some((line) => line.startsWith(`:${CHAINS.output} `));
}

/** Removes Ferry's chains of one family if they are there; true when it removed them. */
export async function removeCapture(runner: CommandRunner, family: IpFamily): Promise<boolean> {
  if (!(await captureInstalled(runner, family))) return false;
  const tool = TOOLS[family].restore;
  const r = await run(runner, tool, ['--noflush'], iptablesCleanupScript());
  if (r.code !== 0) throw failed(`${tool} (removing Ferry's rules)`, r);
  return true;
}

/** Installs every family's script; the scripts installed are returned. */
export async function installCapture(
  runner: CommandRunner,
  config: CaptureConfig,
): Promise<FamilyScript[]> {
  const scripts = captureScripts(config);
  for (const { family, script } of scripts) {
    await removeCapture(runner, family);
    const tool = TOOLS[family].restore;
    const r = await run(runner, tool, ['--noflush'], script);
    if (r.code !== 0) throw failed(tool, r);
  }
  return scripts;
}

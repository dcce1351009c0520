/**
 * The command line of a benchmark script: node's parseArgs with the `-h`/`--help` flag every
 * benchmark takes, which prints the script's usage and exits 0.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** Parses process.argv against `options`; on --help writes `usage` and exits. */
export function benchArgs<const O extends Options>(usage: string, options: O) {
  const { values } = parseArgs<{ options: O & typeof HELP_OPTION }>({
    options: { ...options, ...HELP_OPTION },
  });
  // values' type is only known once O is; its help flag is there whatever O is.
  if ((values as { help?: boolean }).help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}

import { UsageError } from './usage-error';

/** Splits `--flag=value` into its flag and inline value (short flags take no inline value). */
export function splitOption(arg: string): { flag: string; inline: string | undefined } {
  const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
  return eq === -1 ? { flag: arg, inline: undefined } : { flag: arg.slice(0, eq), inline: arg.slice(eq + 1) };
}

/** The option's value (inline, or the next argument) and the index of the last argument used. */
export function takeValue(argv: readonly string[], i: number, flag: string, inline: string | undefined): [string, number] {
  if (inline !== undefined) return [inline, i];
  const v = argv[i + 1];
  if (v === undefined) throw new UsageError(`option ${flag} needs a value`);
  return [v, i + 1];
}

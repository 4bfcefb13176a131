import { parseArgs } from 'node:util';

import { UsageError } from './usage-error';

export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
  /** A string option that may be given more than once (values in order). */
  multiple?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean' ? true : S['multiple'] extends true ? string[] : string;

export type OptionValues<O extends OptionSpecs> = { [K in keyof O]?: ValueOf<O[K]> };

export interface CommandLineSpec<O extends OptionSpecs> {
  options: O;
  /**
   * 'anywhere' (default): operands may come between options.
   * 'stop': the first operand ends option parsing; it and everything after
   * it are returned in `operands` untouched (a wrapper's child command).
   */
  operands?: 'anywhere' | 'stop';
  /** "-5" and "-0x10" are operands (numbers, such as System V keys), not short options. */
  negativeNumbers?: boolean;
}

export interface CommandLine<O extends OptionSpecs> {
  values: OptionValues<O>;
  operands: string[];
  /** True when the operands came after `--` (only `--` ended the options). */
  terminated: boolean;
}

/** Thrown for -h/--help and -V/--version; the command runner prints and exits 0. */
export class InfoRequest {
  constructor(readonly kind: 'help' | 'version') {}
}

/**
 * Parses `argv` (without node and the script) on node:util's parseArgs with
 * our wording of errors: `unknown option --x`, `option --x needs a value`,
 * `option --x takes no value`. -h/--help and -V/--version are understood
 * everywhere (before the operands when they stop the options) and throw an
 * InfoRequest.
 */
export function parseCommandLine<O extends OptionSpecs>(argv: readonly string[], spec: CommandLineSpec<O>): CommandLine<O> {
  const options = { ...spec.options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } } as OptionSpecs;
  // parseArgs would read "-5" as option -5: hand it a stand-in that is an operand, restored below.
  const isNumber = (a: string) => spec.negativeNumbers === true && /^-(\d|0x[0-9a-f])/i.test(a);
  const args = argv.map((a, i) => (isNumber(a) ? `\u0000${i}` : a));
  const restore = (a: string) => (a.startsWith('\u0000') ? (argv[Number(a.slice(1))] as string) : a);
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const stopAtOperand = spec.operands === 'stop';
  // Options end at `--`, or at the first operand when operands stop them.
  let end = tokens.length;
  let operands: string[] = [];
  let terminated = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'option-terminator') {
      end = i;
      operands = argv.slice(t.index + 1);
      terminated = true;
      if (!stopAtOperand) operands = [...positionalsBefore(tokens, i), ...operands];
      break;
    }
    if (t.kind === 'positional' && stopAtOperand) {
      end = i;
      operands = argv.slice(t.index);
      break;
    }
  }
  if (end === tokens.length && !stopAtOperand) operands = positionalsBefore(tokens, end);
  const before = tokens.slice(0, end);
  for (const t of before) {
    if (t.kind !== 'option') continue;
    if (t.name === 'help') throw new InfoRequest('help');
    if (t.name === 'version') throw new InfoRequest('version');
  }
  const values: Record<string, string | true | string[]> = {};
  for (const t of before) {
    if (t.kind !== 'option') continue;
    const o = spec.options[t.name];
    // parseArgs (not strict) also names unknown options; only the spelled ones count.
    if (o === undefined || t.rawName !== (t.rawName.startsWith('--') ? `--${t.name}` : `-${o.short ?? ''}`)) {
      throw new UsageError(`unknown option ${t.rawName}`);
    }
    if (o.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`option ${t.rawName} takes no value`);
      values[t.name] = true;
    } else {
      if (t.value === undefined) throw new UsageError(`option ${t.rawName} needs a value`);
      if (o.multiple === true) values[t.name] = [...((values[t.name] as string[] | undefined) ?? []), t.value];
      else values[t.name] = t.value;
    }
  }
  for (const [k, v] of Object.entries(values)) values[k] = typeof v === 'string' ? restore(v) : Array.isArray(v) ? v.map(restore) : v;
  return { values: values as OptionValues<O>, operands: operands.map(restore), terminated };
}

function positionalsBefore(tokens: ReturnType<typeof parseArgs>['tokens'] & object, end: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < end; i++) {
    const t = tokens[i]!;
    if (t.kind === 'positional') out.push(t.value);
  }
  return out;
}

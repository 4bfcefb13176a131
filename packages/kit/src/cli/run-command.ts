import { InfoRequest } from './command-line';
import { stdio, type Io } from './io';
import { UsageError } from './usage-error';

export interface CommandInfo {
  /** The command's name, as typed: `shm-fd`. */
  name: string;
  /** Printed by --version after the name. */
  version: string;
  /** Printed by --help; lists every option. */
  help: string;
}

/**
 * Runs a command's `body` with the convention every shmkit command follows:
 * -h/--help prints the help on stdout, -V/--version `name version` (exit
 * 0); a UsageError prints `name: message` and `Try 'name --help'.` on
 * stderr (exit 2); an error carrying a string `code` (ShmkitError, Node's
 * system errors) is a runtime failure: `name: message` on stderr, exit 1,
 * no stack. Anything else is a bug and rejects.
 */
export async function runCommand(info: CommandInfo, body: () => number | Promise<number>, io: Io = stdio): Promise<number> {
  try {
    return await body();
  } catch (err) {
    return reportError(info, err, io);
  }
}

/** runCommand for a body that must stay synchronous. */
export function runCommandSync(info: CommandInfo, body: () => number, io: Io = stdio): number {
  try {
    return body();
  } catch (err) {
    return reportError(info, err, io);
  }
}

function reportError(info: CommandInfo, err: unknown, io: Io): number {
  if (err instanceof InfoRequest) {
    io.out(err.kind === 'help' ? withNewline(info.help) : `${info.name} ${info.version}\n`);
    return 0;
  }
  if (err instanceof UsageError) {
    io.err(`${info.name}: ${err.message}\nTry '${info.name} --help'.\n`);
    return 2;
  }
  if (isRuntimeError(err)) {
    io.err(`${info.name}: ${err.message}\n`);
    return 1;
  }
  throw err;
}

/** Errors a user can cause and fix: ours (ShmkitError and its kin) and Node's system errors carry a string code. */
export function isRuntimeError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/**
 * What a bin does with `main`'s promise: its status becomes the exit code;
 * a rejection is a bug, reported with its stack, exit 70 (EX_SOFTWARE).
 */
export function exitWith(name: string, status: Promise<number> | number): void {
  Promise.resolve(status).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}

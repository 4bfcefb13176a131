/**
 * Bad command-line usage: the command prints `prog: message` and
 * `Try 'prog --help'.` and exits 2. Runtime failures are other errors.
 */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

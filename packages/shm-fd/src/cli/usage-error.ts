import { ShmkitError } from '../errors';

/** Bad command-line usage: printed as one line plus usage, exit status 2. */
export class UsageError extends ShmkitError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

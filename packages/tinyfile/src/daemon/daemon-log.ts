import type { DaemonLogger, LogFields, LogLevel } from '@shmkit/shm-fd';

/** tinyd's log. Lines a client can cause go through limited(): one per key per second. */
export class DaemonLog {
  readonly logger: DaemonLogger;

  constructor(logger: DaemonLogger) {
    this.logger = logger;
  }

  /** A line only the daemon itself causes (start, shutdown). */
  line(line: string, fields?: LogFields, level: LogLevel = 'info'): void {
    this.logger.log(level, line, fields);
  }

  /**
   * Writes a line a client can cause at most once per second per `key`
   * (see LogLimiter), with the count of lines held back since the last one.
   */
  limited(key: string, line: string, fields?: LogFields, level: LogLevel = 'info'): void {
    this.logger.limited(key, level, line, fields);
  }
}

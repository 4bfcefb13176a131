// candidate for @shmkit/shm-fd (beside parseSize/formatSize in unstable-child-process)
/**
 * Parses a command-line duration: "10s", "1.5s", "500ms", "2m", or a bare
 * number of seconds. Returns milliseconds (rounded up, so "0.0001s" is not
 * 0), or null when the text is not a duration.
 */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,9}(?:\.\d{1,6})?)(ms|s|m)?$/.exec(text);
  if (m === null) return null;
  const value = Number(m[1]);
  const unit = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Math.ceil(value * unit);
}

/** "10 s", "500 ms", "2.5 s": for log lines. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}

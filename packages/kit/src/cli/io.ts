/** Where a CLI's `main()` writes; tests pass their own to capture it. */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The process's stdout and stderr. */
export const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

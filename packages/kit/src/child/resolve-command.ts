import fs from 'node:fs';
import path from 'node:path';

export type Resolved = { ok: true; path: string } | { ok: false; status: 126 | 127; reason: string };

/**
 * Finds CMD the way a shell would (PATH search unless it contains '/'), so a
 * missing command is reported by us, clearly, rather than by a trampoline.
 */
export function resolveCommand(cmd: string, envPath = process.env['PATH'] ?? '/usr/bin:/bin'): Resolved {
  const candidates = cmd.includes('/') ? [cmd] : envPath.split(':').map((d) => path.join(d === '' ? '.' : d, cmd));
  let denied: string | undefined;
  for (const p of candidates) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      denied ??= `${cmd}: is a directory`;
      continue;
    }
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return { ok: true, path: p };
    } catch {
      denied ??= `${cmd}: permission denied (not executable)`;
    }
  }
  if (denied !== undefined) return { ok: false, status: 126, reason: denied };
  return { ok: false, status: 127, reason: `${cmd}: command not found` };
}

// A real systemd (Debian's /lib/systemd/systemd) booted as PID 1 of private
// namespaces, to run the shipped unit files for real. As root it boots in
// well under a second and touches nothing of the host:
//
// - unshare --pid --fork --mount --propagation private --mount-proc
//   --cgroup --net --uts --ipc: its own pids, mounts, network, hostname
//   (and --kill-child, so the namespace dies with unshare);
// - inside: tmpfs on /run, /tmp and the /var directories systemd writes
//   (StateDirectory=, DynamicUser=, PrivateTmp=), /sys and
//   /proc/sys bound read-only (otherwise PID 1 rewrites host sysctls such as
//   fs.file-max and net.unix.max_dgram_qlen), a fresh cgroup2 on
//   /sys/fs/cgroup rooted in a cgroup made for this boot, and /dev/console
//   bound to the pty of `script` (PID 1 writes its status there);
// - `container=` in PID 1's environment, so systemd treats it as a
//   container: no kernel modules, and at power-off no unmounting, swapoff
//   or reboot(2) of the host;
// - SYSTEMD_UNIT_PATH holds only the test's units: a target with
//   DefaultDependencies=no to boot into, and a minimal power-off pair.
//
// No journald runs: the harness gives each unit a drop-in with
// StandardOutput=append:FILE. It is driven with `nsenter -t PID -m -p
// systemctl …` and ended with `systemctl poweroff`, after which the cgroup
// made for it is removed (and any process left in it killed, which fails
// the boot's shutdown).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { alive, repoRoot, run, start, type Proc } from './proc';

const SYSTEMD = '/lib/systemd/systemd';
const TARGET = 'shmkit-test.target';

/** Why the harness cannot boot here, or null when it can. */
export function systemdUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'booting systemd in a namespace needs root';
  // The units run this checkout's commands under ProtectHome= / PrivateTmp=, and the
  // harness mounts tmpfs over /tmp and /var/tmp: a checkout there is invisible to them.
  const hidden = /^\/(root|home|run\/user|tmp|var\/tmp)(\/|$)/.exec(repoRoot)?.[0];
  if (hidden !== undefined) return `the checkout ${repoRoot} is under ${hidden.replace(/\/$/, '')}, which the units' sandboxing hides from the services; clone the repository elsewhere (e.g. beside it: git clone . ../shmkit-fresh) to run these tests`;
  if (!fs.existsSync(SYSTEMD)) return `no ${SYSTEMD} (install Debian's systemd package)`;
  for (const tool of ['unshare', 'nsenter', 'script']) {
    if (!['/usr/bin', '/bin'].some((d) => fs.existsSync(path.join(d, tool)))) return `no ${tool} (util-linux)`;
  }
  if (cgroup2Mount() === null) return 'no cgroup2 hierarchy is mounted';
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (capEff === undefined || (BigInt(`0x${capEff}`) & (1n << 21n)) === 0n) return 'no CAP_SYS_ADMIN (namespaces and mounts need it)';
  try {
    fs.accessSync(ownCgroup(), fs.constants.W_OK);
  } catch {
    return `cannot create cgroups under ${ownCgroup()}`;
  }
  return null;
}

/** The host's cgroup2 mount point (pure unified, or hybrid's /sys/fs/cgroup/unified). */
function cgroup2Mount(): string | null {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === 'cgroup2') return (pre?.split(' ')[4] ?? null) as string | null;
  }
  return null;
}

/** This process's cgroup2 directory. */
function ownCgroup(): string {
  const mount = cgroup2Mount();
  const entry = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  if (mount === null || entry === undefined) throw new Error('no cgroup2 hierarchy for this process');
  return path.join(mount, entry.slice(3));
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const PID1 = `set -eu
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
# A private /tmp (PrivateTmp= directories land there), with the harness
# directory bound back at its own path.
mkdir /run/shmkit-harness
mount --bind "$3" /run/shmkit-harness
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mkdir -p "$3"
mount --bind /run/shmkit-harness "$3"
umount /run/shmkit-harness
rmdir /run/shmkit-harness
for d in /var/lib /var/tmp /var/cache /var/log; do
  if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
mount --bind /sys /sys
mount -o remount,bind,ro /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount --bind "$1" /dev/console
export SYSTEMD_UNIT_PATH="$2" container=shmkit-test
exec ${SYSTEMD} --unit=${TARGET} --log-target=console --show-status=yes
`;

const BOOT = `set -eu
echo $$ > "$1/cgroup.procs"
echo "shmkit-boot pid $$"
exec unshare --kill-child=SIGKILL --pid --fork --mount --propagation private --mount-proc --cgroup --net --uts --ipc /bin/sh "$2" "$(tty)" "$3" "$4"
`;

const HARNESS_UNITS: Record<string, string> = {
  [TARGET]: '[Unit]\nDescription=shmkit test boot\nDefaultDependencies=no\n',
  'poweroff.target':
    '[Unit]\nDescription=Power-Off\nDefaultDependencies=no\nRequires=systemd-poweroff.service\nAfter=systemd-poweroff.service\nAllowIsolate=yes\n',
  'systemd-poweroff.service': '[Unit]\nDescription=Power-Off\nDefaultDependencies=no\nSuccessAction=poweroff-force\n',
};

let boots = 0;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

/** Removes the cgroups of boots whose test process is gone (killed before it could power off). */
function removeStaleCgroups(): void {
  const parent = ownCgroup();
  for (const name of fs.readdirSync(parent)) {
    const m = /^shmkit-systemd-(\d+)-\d+$/.exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    const dir = path.join(parent, name);
    killCgroup(dir);
    try {
      removeCgroupTree(dir);
    } catch {
      // still emptying; the next boot tries again
    }
  }
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export class SystemdNamespace {
  private constructor(
    /** Host pid of the namespace's PID 1 (systemd). */
    readonly pid: number,
    /** Temporary directory: units/, logs/. */
    readonly dir: string,
    private readonly cgroup: string,
    private readonly boot: Proc,
  ) {}

  /**
   * Boots systemd with `units` (name → text) in its unit path. Each gets
   * a drop-in: DefaultDependencies=no (the usual targets are absent) and,
   * for services, stdout and stderr appended to logs/NAME.log and a 30 s
   * start timeout.
   */
  static async boot(units: Record<string, string>): Promise<SystemdNamespace> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-systemd-'));
    const unitDir = path.join(dir, 'units');
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(unitDir);
    fs.mkdirSync(logDir);
    for (const [name, text] of Object.entries({ ...HARNESS_UNITS, ...units })) fs.writeFileSync(path.join(unitDir, name), text);
    for (const name of Object.keys(units)) {
      const dropIn = path.join(unitDir, `${name}.d`);
      fs.mkdirSync(dropIn);
      let text = '[Unit]\nDefaultDependencies=no\n';
      if (name.endsWith('.service')) {
        const log = path.join(logDir, `${name}.log`);
        // A unit that never gets ready fails the test in 30 s, not systemd's 90.
        text += `[Service]\nStandardOutput=append:${log}\nStandardError=append:${log}\nTimeoutStartSec=30s\n`;
      }
      fs.writeFileSync(path.join(dropIn, 'harness.conf'), text);
    }
    fs.writeFileSync(path.join(dir, 'pid1.sh'), PID1);
    fs.writeFileSync(path.join(dir, 'boot.sh'), BOOT);
    removeStaleCgroups();
    const cgroup = path.join(ownCgroup(), `shmkit-systemd-${process.pid}-${++boots}`);
    fs.mkdirSync(cgroup);
    const cmd = `/bin/sh ${q(path.join(dir, 'boot.sh'))} ${q(cgroup)} ${q(path.join(dir, 'pid1.sh'))} ${q(unitDir)} ${q(dir)}`;
    // Should this process die without powering off: script gets SIGKILL,
    // the pty hangs up on unshare, and unshare's --kill-child takes PID 1
    // and with it the whole namespace.
    const argv = ['script', '-qfec', cmd, '/dev/null'];
    const boot = SETPRIV === undefined ? start(argv.slice(1), { cmd: 'script', stdio: ['pipe', 'pipe', 'pipe'] }) : start(['--pdeathsig', 'SIGKILL', '--', ...argv], { cmd: SETPRIV, stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      const line = await boot.waitFor(/shmkit-boot pid (\d+)/, 20000);
      const unsharePid = Number(/(\d+)$/.exec(line)?.[1]);
      await boot.waitFor(/Startup finished/, 20000);
      const children = fs.readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
      if (children.length !== 1) throw new Error(`expected one child of unshare (${unsharePid}), found ${JSON.stringify(children)}`);
      return new SystemdNamespace(Number(children[0]), dir, cgroup, boot);
    } catch (err) {
      await SystemdNamespace.teardown(boot, cgroup, null);
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Runs a command inside the namespaces (mounts, pids, network). */
  exec(argv: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
    return run(['-t', String(this.pid), '-m', '-p', '-n', '--', ...argv], { cmd: 'nsenter', ...options });
  }

  /** Starts a long-running command inside the namespaces. */
  spawn(argv: string[]): Proc {
    return start(['-t', String(this.pid), '-m', '-p', '-n', '--', ...argv], { cmd: 'nsenter', stdio: ['pipe', 'pipe', 'pipe'] });
  }

  systemctl(...args: string[]): Promise<Run> {
    return this.exec(['systemctl', '--no-pager', ...args]);
  }

  /** `systemctl …` that must succeed; returns its stdout. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.systemctl(...args);
    if (r.status !== 0) throw new Error(`systemctl ${args.join(' ')} exited ${r.status}\n${r.stdout}${r.stderr}\n${await this.describe(args)}`);
    return r.stdout;
  }

  /** One property of a unit (`systemctl show -P`). */
  async property(unit: string, name: string): Promise<string> {
    return (await this.ok('show', '-P', name, unit)).trim();
  }

  /** Polls a unit's ActiveState until it is one of `states`; returns it. */
  async waitState(unit: string, states: string[], timeoutMs = 20000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.property(unit, 'ActiveState');
      if (states.includes(state)) return state;
      if (Date.now() > end) throw new Error(`${unit} is ${state}, not ${states.join(' or ')}, after ${timeoutMs} ms\n${await this.describe([unit])}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** What PID 1 wrote to its console so far. */
  console(): string {
    return this.boot.stdout();
  }

  /** What a unit's service wrote (the harness appends its stdout and stderr here). */
  log(unit: string): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'logs', `${unit}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** A path inside the namespace's mounts, seen from the host (while it runs). */
  inside(p: string): string {
    return path.join(`/proc/${this.pid}/root`, p);
  }

  /** PID 1's console and the logs of the units named in `args`, for failure messages. */
  async describe(args: string[] = []): Promise<string> {
    const units = args.filter((a) => /\.(service|socket|target)$/.test(a));
    const parts = [`--- console ---\n${this.boot.stdout()}`];
    for (const u of units) {
      const s = await this.systemctl('status', u);
      parts.push(`--- ${u} ---\n${s.stdout}${s.stderr}\n${this.log(u)}`);
    }
    return parts.join('\n');
  }

  /** Powers off; then the cgroup is removed. Throws if anything had to be killed. */
  async poweroff(): Promise<void> {
    await this.systemctl('poweroff');
    const problem = await SystemdNamespace.teardown(this.boot, this.cgroup, this.pid);
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (problem !== null) throw new Error(problem);
  }

  /**
   * Waits for the boot to end (killing PID 1 if it does not within 20 s),
   * kills whatever is still in its cgroup and removes the cgroup tree.
   * Returns what went wrong, or null.
   */
  private static async teardown(boot: Proc, cgroup: string, pid1: number | null): Promise<string | null> {
    let problem: string | null = null;
    const timer = setTimeout(() => {
      problem = 'systemd did not power off within 20 s; killed';
      if (pid1 !== null) killQuietly(pid1);
      killCgroup(cgroup);
    }, 20000);
    if (pid1 === null) killCgroup(cgroup);
    await boot.exited;
    clearTimeout(timer);
    const left = cgroupProcs(cgroup);
    if (left.length > 0) {
      problem ??= `processes left in ${cgroup} after power-off: ${left.join(' ')}; killed`;
      killCgroup(cgroup);
      const end = Date.now() + 10000;
      while (cgroupProcs(cgroup).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    }
    removeCgroupTree(cgroup);
    return problem;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Pids in a cgroup and all its descendants. */
function cgroupProcs(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const pids = fs
    .readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pids.push(...cgroupProcs(path.join(dir, e.name)));
  return pids;
}

/** SIGKILLs every process of the cgroup tree (cgroup.kill, else one by one). */
function killCgroup(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const kill = path.join(dir, 'cgroup.kill');
  if (fs.existsSync(kill)) fs.writeFileSync(kill, '1');
  else for (const pid of cgroupProcs(dir)) killQuietly(pid);
}

/** rmdir of the cgroup and its descendants, deepest first. */
function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  fs.rmdirSync(dir);
}

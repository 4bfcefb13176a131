// Every command follows one convention: --help and --version on stdout with
// exit 0; usage errors as `prog: what was wrong` and `Try 'prog --help'.`
// on stderr with exit 2. Runs the built bins (packages/*/dist/bin).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { bin, killAll, repoRoot, run } from './helpers/proc';

interface Case {
  pkg: string;
  name: string;
  /** Arguments that leave out a required argument, and the start of the message. */
  missing: [string[], string];
  /** Arguments with an unreadable size, and the start of the message; null for a command without sizes. */
  badSize: [string[], string] | null;
  /** The built module (under the package's dist/src) and its exports holding the option specs the command parses with. */
  specs: [string, string[]];
}

const BAD = '12parsecs';

const CASES: Case[] = [
  { pkg: 'shm-fd', name: 'shm-fd', missing: [[], 'no command given'], badSize: [['--size', BAD, '--', 'true'], `--size: "${BAD}": not a size`], specs: ['cli/args.js', ['OPTIONS']] },
  {
    pkg: 'shm-snapshot',
    name: 'shm-restore',
    missing: [[], 'no BACKUP file given'],
    badSize: [['inspect', '--bytes', BAD, 'backup'], `--bytes: "${BAD}": not a size`],
    specs: ['restore/args.js', ['RUN_OPTIONS', 'INSPECT_OPTIONS']],
  },
  {
    pkg: 'shm-state',
    name: 'shm-state',
    missing: [['inspect'], 'give exactly one of --file, --shm, --env'],
    badSize: [['inspect', '--file', '/dev/null', '--offset', BAD], `--offset: "${BAD}": not a size`],
    specs: ['cli/inspect-args.js', ['INSPECT_OPTIONS']],
  },
  { pkg: 'tinyfile', name: 'tinyd', missing: [['--socket'], 'option --socket needs a value'], badSize: [['--sms-size', BAD], `--sms-size: "${BAD}": not a size`], specs: ['cli/tinyd-main.js', ['TINYD_OPTIONS']] },
  { pkg: 'tinyfile', name: 'tinyfile', missing: [[], 'missing command'], badSize: [['bench', '--size', BAD], `--size: "${BAD}": not a size`], specs: ['cli/tinyfile-main.js', ['TINYFILE_OPTIONS']] },
  { pkg: 'rmmap', name: 'rmmapd', missing: [[], '--root DIR is required'], badSize: [['--root', '.', '--max-frame', BAD], `--max-frame: "${BAD}": not a size`], specs: ['cli/rmmapd.js', ['OPTIONS']] },
  {
    pkg: 'push',
    name: 'shm-push',
    missing: [[], 'missing command'],
    badSize: [['receive', '--port', '0', '--dir', '.', '--max-size', BAD], `receive: --max-size must be a size`],
    specs: ['cli.js', ['SEND_OPTIONS', 'RECEIVE_OPTIONS']],
  },
  { pkg: 'ipcbuffer', name: 'ipcbuffer', missing: [[], 'a command is required'], badSize: null, specs: ['cli/ipcbuffer.js', ['LS_OPTIONS', 'RM_OPTIONS']] },
];

let cwd: string;
beforeAll(() => {
  // Usage errors stop before any work; a private cwd and runtime dir keep it so if one did not.
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-conformance-'));
});
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));
afterEach(() => killAll());

function versionOf(pkg: string): string {
  return (JSON.parse(fs.readFileSync(path.join(repoRoot, 'packages', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

async function cli(c: Case, args: string[]) {
  // An empty socket directory keeps tinyfile away from any running daemon.
  const r = await run([bin(c.pkg, c.name), ...args], { cwd, env: { ...process.env, XDG_RUNTIME_DIR: cwd }, timeoutMs: 30_000 });
  return { status: r.status, out: r.stdout.split('\n'), err: r.stderr.split('\n') };
}

function expectUsageError(c: Case, r: Awaited<ReturnType<typeof cli>>, message: string): void {
  expect({ status: r.status, first: r.err[0]?.startsWith(`${c.name}: ${message}`) ? 'ok' : r.err[0], second: r.err[1], out: r.out.join('\n') }).toEqual({
    status: 2,
    first: 'ok',
    second: `Try '${c.name} --help'.`,
    out: '',
  });
}

describe.each(CASES)('$name', (c) => {
  it.each([['--help'], ['-h']])('%s prints the help on stdout, exit 0', async (flag) => {
    const r = await cli(c, [flag]);
    expect({ status: r.status, first: r.out[0], err: r.err.join('\n') }).toEqual({ status: 0, first: expect.stringMatching(/^Usage:/), err: '' });
    // Help and version are listed like every other option.
    expect(r.out.join('\n')).toMatch(/-h, --help/);
    expect(r.out.join('\n')).toMatch(/-V, --version/);
  });

  it('the help lists every option the command takes', async () => {
    const help = (await cli(c, ['--help'])).out.join('\n');
    const [module, names] = c.specs;
    const exported = require(path.join(repoRoot, 'packages', c.pkg, 'dist', 'src', module)) as Record<string, Record<string, { short?: string }>>;
    const missing: string[] = [];
    for (const name of names) {
      const spec = exported[name];
      if (spec === undefined) throw new Error(`${module} exports no ${name}`);
      for (const [long, o] of Object.entries(spec)) {
        if (!new RegExp(`--${long}(?![\\w-])`).test(help)) missing.push(`--${long}`);
        if (o.short !== undefined && !new RegExp(`(^|[\\s,(\\[])-${o.short}\\b`, 'm').test(help)) missing.push(`-${o.short}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it.each([['--version'], ['-V']])('%s prints the name and version, exit 0', async (flag) => {
    const r = await cli(c, [flag]);
    expect({ status: r.status, out: r.out, err: r.err.join('\n') }).toEqual({ status: 0, out: [`${c.name} ${versionOf(c.pkg)}`, ''], err: '' });
  });

  it('an unknown option is a usage error, exit 2', async () => {
    expectUsageError(c, await cli(c, ['--no-such-option']), 'unknown option --no-such-option');
  });

  it('a missing argument is a usage error, exit 2', async () => {
    const [args, message] = c.missing;
    expectUsageError(c, await cli(c, args), message);
  });
});

// ipcbuffer takes no size.
describe.each(CASES.filter((c) => c.badSize !== null))('$name', (c) => {
  it('a bad size is a usage error, exit 2', async () => {
    const [args, message] = c.badSize as [string[], string];
    expectUsageError(c, await cli(c, args), message);
  });
});

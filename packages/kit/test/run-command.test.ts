import { parseCommandLine } from '../src/cli/command-line';
import { runCommand, runCommandSync } from '../src/cli/run-command';
import { UsageError } from '../src/cli/usage-error';

const info = { name: 'demo', version: '1.2.3', help: 'Usage: demo [--x]' };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }, out, err };
}

describe('runCommand', () => {
  it('prints help and version on stdout, exit 0', async () => {
    const c = capture();
    expect(await runCommand(info, () => (parseCommandLine(['--help'], { options: {} }), 5), c.io)).toBe(0);
    expect(runCommandSync(info, () => (parseCommandLine(['-V'], { options: {} }), 5), c.io)).toBe(0);
    expect(c.out).toEqual(['Usage: demo [--x]\n', 'demo 1.2.3\n']);
    expect(c.err).toEqual([]);
  });

  it('reports a usage error in two lines on stderr, exit 2', async () => {
    const c = capture();
    expect(await runCommand(info, () => (parseCommandLine(['--nope'], { options: {} }), 0), c.io)).toBe(2);
    expect(c.err.join('')).toBe("demo: unknown option --nope\nTry 'demo --help'.\n");
  });

  it('reports runtime errors with a code in one line, exit 1, and passes bugs on', async () => {
    const c = capture();
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), { code: 'ENOENT' });
    expect(
      await runCommand(
        info,
        async () => {
          throw enoent;
        },
        c.io,
      ),
    ).toBe(1);
    expect(c.err.join('')).toBe("demo: ENOENT: no such file or directory, open 'x'\n");
    await expect(runCommand(info, () => Promise.reject(new TypeError('bug')), c.io)).rejects.toThrow('bug');
    expect(() => runCommandSync(info, () => { throw new UsageError('bad'); }, c.io)).not.toThrow();
  });

  it('returns the body status otherwise', async () => {
    expect(await runCommand(info, () => 3, capture().io)).toBe(3);
  });
});

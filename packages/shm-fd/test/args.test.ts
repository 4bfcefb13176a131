import { parseArgs } from '../src/cli/args';

describe('shm-fd arguments', () => {
  it('parses run with a command after --', () => {
    const o = parseArgs(['--size', '8M', '--', 'node', 'primes.js', '--size', '1']);
    expect(o.mode).toBe('run');
    expect(o.size).toBe(8 * 1024 * 1024);
    expect(o.command).toEqual(['node', 'primes.js', '--size', '1']);
  });

  it('parses watch options', () => {
    const o = parseArgs(['watch', '-n', '0.1', '--count=5', '-e', '-q', '--', 'true']);
    expect(o).toMatchObject({ mode: 'watch', interval: 0.1, count: 5, errexit: true, quiet: true, command: ['true'] });
  });

  it('takes the first operand as the start of the command', () => {
    expect(parseArgs(['watch', '-n', '1', './primes', '-x']).command).toEqual(['./primes', '-x']);
  });

  it('accepts --file, --shm, --name and --fd-name', () => {
    expect(parseArgs(['--file', '/dev/shm/x', '--', 'true']).file).toBe('/dev/shm/x');
    expect(parseArgs(['--shm', 'app', '--', 'true']).shm).toBe('/app');
    expect(parseArgs(['--name', 'state', '--fd-name', 'MINE', '--', 'true'])).toMatchObject({ name: 'state', fdName: 'MINE' });
  });

  it.each([
    [[], /no command/],
    [['--'], /no command/],
    [['--bogus', '--', 'x'], /unknown option --bogus/],
    [['--size', 'lots', '--', 'x'], /--size/],
    [['--size'], /needs a value/],
    [['watch', '-n', 'soon', '--', 'x'], /--interval: "soon": not a duration/],
    [['watch', '-n', '-1', '--', 'x'], /--interval: "-1": a duration cannot be negative/],
    [['--size', '1.5G', '--', 'x'], /whole number/],
    [['--quiet=yes', '--', 'x'], /option --quiet takes no value/],
    [['watch', '--count', '0', '--', 'x'], /positive whole number/],
    [['--count', '2', '--', 'x'], /only apply to `shm-fd watch`/],
    [['--file', 'a', '--shm', 'b', '--', 'x'], /cannot be combined/],
    [['--fd-name', 'a:b', '--', 'x'], /LISTEN_FDNAMES/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv as string[])).toThrow(expect.objectContaining({ code: 'ERR_USAGE', message: expect.stringMatching(message) }));
  });

  it('asks for help and version before anything else', () => {
    expect(() => parseArgs(['--help'])).toThrow(expect.objectContaining({ kind: 'help' }));
    expect(() => parseArgs(['watch', '-V'])).toThrow(expect.objectContaining({ kind: 'version' }));
  });

  it('takes interval units and keeps options after the command for it', () => {
    expect(parseArgs(['watch', '-n', '250ms', '--', 'x']).interval).toBe(0.25);
    expect(parseArgs(['./primes', '--help']).command).toEqual(['./primes', '--help']);
  });
});

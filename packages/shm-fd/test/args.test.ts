import { parseArgs } from '../src/cli/args';
import { formatSize, parseSize } from '../src/cli/size';

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
    [['watch', '-n', 'soon', '--', 'x'], /not a number of seconds/],
    [['watch', '-n', '-1', '--', 'x'], /not a number of seconds/],
    [['watch', '--count', '0', '--', 'x'], /positive whole number/],
    [['--count', '2', '--', 'x'], /only apply to `shm-fd watch`/],
    [['--file', 'a', '--shm', 'b', '--', 'x'], /cannot be combined/],
    [['--fd-name', 'a:b', '--', 'x'], /LISTEN_FDNAMES/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv as string[])).toThrow(expect.objectContaining({ code: 'ERR_USAGE', message: expect.stringMatching(message) }));
  });

  it('returns help and version modes', () => {
    expect(parseArgs(['--help']).mode).toBe('help');
    expect(parseArgs(['watch', '-V']).mode).toBe('version');
  });
});

describe('sizes', () => {
  it.each([
    ['4096', 4096],
    ['64k', 65536],
    ['8M', 8388608],
    ['1G', 1073741824],
    ['2GiB', 2147483648],
    ['1.5k', 1536],
    ['16 kb', 16384],
  ])('parses %s', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'k', '-1', '1x', '1e3', '99999999999T'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeNull();
  });

  it('formats', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(8 * 1024 * 1024)).toBe('8 MiB');
    expect(formatSize(1536)).toBe('1.5 KiB');
  });
});

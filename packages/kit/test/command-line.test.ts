import { InfoRequest, parseCommandLine } from '../src/cli/command-line';

const options = {
  size: { type: 'string' },
  tag: { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
  interval: { type: 'string', short: 'n' },
} as const;

function usageError(message: string) {
  return expect.objectContaining({ code: 'ERR_USAGE', message });
}

describe('parseCommandLine', () => {
  it('reads long, inline, short and grouped options and operands anywhere', () => {
    const r = parseCommandLine(['a', '--size', '4k', '--tag=x', '-qn5', 'b', '--tag', 'y'], { options });
    expect(r.values).toEqual({ size: '4k', tag: ['x', 'y'], quiet: true, interval: '5' });
    expect(r.operands).toEqual(['a', 'b']);
    expect(r.terminated).toBe(false);
  });

  it('takes everything after -- as operands', () => {
    const r = parseCommandLine(['-q', 'a', '--', '--size', '-x'], { options });
    expect(r.operands).toEqual(['a', '--size', '-x']);
    expect(r.terminated).toBe(true);
  });

  it('stops at the first operand when asked: the rest belongs to a child command', () => {
    const r = parseCommandLine(['-q', '--size', '1M', 'node', '-e', 'x', '--help', '--', 'y'], { options, operands: 'stop' });
    expect(r.values).toEqual({ quiet: true, size: '1M' });
    expect(r.operands).toEqual(['node', '-e', 'x', '--help', '--', 'y']);
    expect(parseCommandLine(['-q', '--', '-node'], { options, operands: 'stop' }).operands).toEqual(['-node']);
    // A lone "-" is an operand (stdin), not an option.
    expect(parseCommandLine(['-', '-q'], { options, operands: 'stop' }).operands).toEqual(['-', '-q']);
  });

  it('reads negative numbers as operands when asked', () => {
    expect(parseCommandLine(['-q', '-5', '-0x4d2', '12'], { options, negativeNumbers: true })).toMatchObject({ values: { quiet: true }, operands: ['-5', '-0x4d2', '12'] });
    expect(parseCommandLine(['--size', '-5'], { options, negativeNumbers: true }).values.size).toBe('-5');
    expect(() => parseCommandLine(['-5'], { options })).toThrow(usageError('unknown option -5'));
  });

  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['-x'], 'unknown option -x'],
    [['-qx'], 'unknown option -x'],
    [['--size'], 'option --size needs a value'],
    [['-n'], 'option -n needs a value'],
    [['--quiet=1'], 'option --quiet takes no value'],
    [['--bogus', 'cmd'], 'unknown option --bogus'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, { options, operands: 'stop' })).toThrow(usageError(message));
  });

  it('answers -h/--help and -V/--version before other problems, not after the operands stop', () => {
    const kind = (argv: string[]) => {
      try {
        parseCommandLine(argv, { options, operands: 'stop' });
        return null;
      } catch (err) {
        return err instanceof InfoRequest ? err.kind : 'error';
      }
    };
    expect(kind(['-h'])).toBe('help');
    expect(kind(['--bogus', '--help'])).toBe('help');
    expect(kind(['-V'])).toBe('version');
    expect(kind(['--version'])).toBe('version');
    expect(kind(['cmd', '--help'])).toBeNull();
    expect(kind(['--', '-h'])).toBeNull();
  });
});

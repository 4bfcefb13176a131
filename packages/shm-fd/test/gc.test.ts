import { execFileSync } from 'node:child_process';
import path from 'node:path';

// The FinalizationRegistry backstop, observed from a separate process so the
// test's own heap does not interfere.
function runChild(mode: 'closed' | 'leaked') {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'fixtures', 'gc-child.ts'), mode],
    { encoding: 'utf8', cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return JSON.parse(out.trim().split('\n').pop() as string) as {
    leaks: number;
    memfdMappingsBefore: number;
    memfdMappingsAfter: number;
  };
}

describe('finalization backstop', () => {
  it('closed mappings release the file at once and are collectable without warnings', () => {
    const r = runChild('closed');
    expect(r.memfdMappingsBefore).toBe(0);
    expect(r.memfdMappingsAfter).toBe(0);
    expect(r.leaks).toBe(0);
  });

  it('leaked mappings trip SHM_LEAK and are unmapped when collected', () => {
    const r = runChild('leaked');
    expect(r.memfdMappingsBefore).toBe(5);
    expect(r.leaks).toBe(5);
    expect(r.memfdMappingsAfter).toBe(0);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { packageVersion } from '../src/cli/version';

describe('packageVersion', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'version-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("finds the kit's own version from its source directory", () => {
    const own = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(packageVersion('@shmkit/kit', path.join(__dirname, '..', 'src', 'cli'))).toBe(own.version);
  });

  it('walks up past package.json files of other packages and past broken ones, at any depth', () => {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@x/pkg', version: '1.2.3' }));
    const deep = path.join(dir, 'dist', 'src', 'cli');
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'package.json'), JSON.stringify({ name: 'other', version: '9.9.9' }));
    fs.writeFileSync(path.join(dir, 'dist', 'src', 'package.json'), '{ not json');
    expect(packageVersion('@x/pkg', deep)).toBe('1.2.3');
  });

  it("is 'unknown' when no package.json of that name is above the directory", () => {
    expect(packageVersion('@x/none-such', dir)).toBe('unknown');
  });

  it('ignores a version that is not a string', () => {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@x/pkg', version: 3 }));
    expect(packageVersion('@x/pkg', dir)).toBe('unknown');
  });
});

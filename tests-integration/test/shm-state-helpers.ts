// Shared pieces of the shm-state integration suites: a state file per test
// and the role fixture (packages/shm-state/test/fixtures/role.js) that plays
// one part in another process.
import fs from 'node:fs';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';

import { killAll, repoRoot, start, type Proc } from './helpers/proc';

const ROLE = path.join(repoRoot, 'packages', 'shm-state', 'test', 'fixtures', 'role.js');

/** Where the suites place their structures: after the region directory's space. */
export const BASE = 65536;

/**
 * Per test: a fresh directory (on tmpfs when there is one); afterwards every
 * started process is killed and the directory removed. Returns a function
 * that creates the test's state file of `size` bytes.
 */
export function useStateFile(): (size: number) => { file: string; shared: SharedFd } {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'shm-state-it-'));
  });
  afterEach(async () => {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return (size) => {
    const file = path.join(dir, 'state');
    return { file, shared: SharedFd.openFile(file, { create: true, size }) };
  };
}

/** Starts the role fixture playing `name` on the state file. */
export function role(file: string, name: string, ...args: string[]): Proc {
  return start([ROLE, name, file, ...args], { cwd: path.dirname(ROLE) });
}

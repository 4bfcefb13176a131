import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';
import { openConfined } from './confine';
import { type WriteRecord } from './journal-format';

/**
 * Re-applies the journal's last write at start. It is the only one that may
 * not have reached the file: records are appended before their write is
 * applied, one at a time, on one thread. Writing it again is idempotent:
 * either it was applied and no write came after it, or it was not applied.
 *
 * The path goes through the same confinement as MAP (openConfined: the
 * opened fd must lie inside the root), since the journal is input too.
 * Returns false, with a log line, when the file can no longer take the
 * write (gone, shrunk, not writable); throws ERR_RMMAP_JOURNAL_BAD_PATH
 * when it resolves outside the root.
 */
export function reapplyLast(rootReal: string, rec: WriteRecord, journalPath: string, log: (line: string) => void): boolean {
  let f;
  try {
    f = openConfined(rootReal, rec.path, true);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_RMMAP_BAD_PATH') {
      throw new RmmapError(
        'ERR_RMMAP_JOURNAL_BAD_PATH',
        `journal ${journalPath}: the last write's file ${JSON.stringify(rec.path)} resolves outside the served root (${(e as Error).message}); ` +
          `move the journal away (mv ${journalPath} ${journalPath}.bad) or fix the root`,
        { cause: e },
      );
    }
    log(`journal: cannot re-apply the last write to ${rec.path}: ${(e as Error).message}`);
    return false;
  }
  try {
    if (!f.writable) {
      log(`journal: cannot re-apply the last write to ${rec.path}: the file is not writable`);
      return false;
    }
    // rmmap never grows files (§4.1): a file that shrank cannot take the write.
    if (rec.offset + rec.data.length > f.size) {
      log(`journal: cannot re-apply the last write to ${rec.path}: the file shrank to ${f.size} bytes`);
      return false;
    }
    // pwrite goes through the page cache the later mmaps share.
    let done = 0;
    while (done < rec.data.length) done += fs.writeSync(f.fd, rec.data, done, rec.data.length - done, rec.offset + done);
    return true;
  } finally {
    sys.close(f.fd);
  }
}

// A snapshot journal in a memfd: commit a payload, then recover it through a
// second mapping of the same file, as a restarted process would.
import { SharedFd } from '@shmkit/shm-fd';
import { SnapshotFile } from '@shmkit/shm-snapshot';
import { check } from './check.cjs';

const shared = SharedFd.create({ size: 1 << 20 });
const first = SnapshotFile.map(shared);
const { writer, recovered } = first.openWriter({ entries: 16, dataBytes: 4096 });
check(recovered === null, 'a fresh file has nothing to recover');
writer.commit(Buffer.from('state one'));
writer.commit(Buffer.from('state two'));
first.close();

const second = SnapshotFile.map(shared);
const again = second.recover();
check(again !== null, 'the journal is recovered');
const newest = again.newest();
check(newest !== null && again.read(newest).toString() === 'state two', 'the newest payload reads back');
second.close();
shared.close();
console.log('shm-snapshot: ok');

// Runs every bench/*.bench.ts scenario and prints one table. Ratios > 1 mean
// shmkit is faster or cheaper than the alternative measured in the same run.
import { collectRows } from '@shmkit/kit/bench';

import { printTable, type Row } from './util';

void collectRows<Row>(__dirname, process.argv[2]).then((rows) => printTable('@shmkit/shm-snapshot', rows));

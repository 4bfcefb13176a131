// Runs every bench/*.bench.ts scenario in order and prints one table.
// Ratios > 1 mean shm-state is faster or cheaper than the alternative
// measured in the same run. `tsx bench/run.ts [name-filter]`.
import { collectRows } from '@shmkit/kit/bench';

import { printTable, type Row } from './util';

void collectRows<Row>(__dirname, process.argv[2]).then((rows) => printTable('@shmkit/shm-state', rows));

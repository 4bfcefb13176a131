// `@shmkit/shm-fd/unstable-bench`: the table and timing helpers every
// package's bench script shares. Internal to shmkit, not a stable API.
export { environment, printTable, type Row } from './table';
export { alternateTimings, sortedTimings } from './timing';
export { median, percentile } from './stats';
export { killedAtExit, removedAtExit } from './exit-cleanup';
export { runScenarios } from './run-scenarios';

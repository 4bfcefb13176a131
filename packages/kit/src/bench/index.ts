// The table, timing, statistics and cleanup helpers every package's bench
// script shares. Internal to shmkit's packages.
export { environment, printTable, type Row } from './table';
export { alternateTimings, sortedTimings } from './timing';
export { median, percentile } from './stats';
export { killedAtExit, removedAtExit } from './exit-cleanup';
export { runScenarios } from './run-scenarios';
export { collectRows } from './collect-rows';

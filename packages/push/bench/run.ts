// Runs every bench/*.bench.ts scenario, each in its own process, each
// printing its table of ratios against the alternative a user would pick.
// Usage: node -r tsx/cjs bench/run.ts [scenario-substring]   (build first)
import { runScenarios } from '@shmkit/kit/bench';

process.exitCode = runScenarios('@shmkit/push', __dirname, process.argv[2]);

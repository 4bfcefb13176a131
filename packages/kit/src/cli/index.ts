// The command-line convention of every shmkit command: parsing on
// node:util parseArgs, --help/--version, usage errors (exit 2), sizes and
// durations. Internal to shmkit's packages.
export { parseCommandLine, InfoRequest, type CommandLine, type CommandLineSpec, type OptionSpec, type OptionSpecs, type OptionValues } from './command-line';
export { runCommand, runCommandSync, isRuntimeError, exitWith, type CommandInfo } from './run-command';
export { UsageError } from './usage-error';
export { parseSize, sizeOption, formatSize, type SizeResult, type SizeLimits } from './size';
export { parseDuration, durationOption, formatDuration, type DurationResult, type DurationLimits } from './duration';
export { packageVersion } from './version';
export { stdio, type Io } from './io';

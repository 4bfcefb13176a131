// Internal to shmkit's packages.
export { startModuleWorker } from './start-module-worker';

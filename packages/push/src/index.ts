// Multi-destination push (docs/PUSH.md).
export { closeIdleSenderThreads } from './sender-threads';
export { pushFile, type PushOptions, type PushResult, type ReceiverResult, type ReceiverProgress, type ReceiverPhase } from './send';
export { PushReceiver, type ReceiverOptions, type Transfer, type StoredEvent, type FailedEvent, type RefusedEvent } from './receiver';
export { PushError } from './errors';
export { PushStatus, type PushStatusName, PUSH_CODES, type PushCode } from './codes';
export { parseDestination, type Destination } from './destination';
export { nameProblem } from './names';

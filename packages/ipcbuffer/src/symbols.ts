/** Package-internal symbol keys, in one place. */
export const kState = Symbol('ipcbuffer.state');

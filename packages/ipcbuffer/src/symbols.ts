/** Package-internal keys (STYLE §1: piscina:src/symbols.ts). */
export const kState = Symbol('ipcbuffer.state');

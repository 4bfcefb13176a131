// Byte helpers shared by the wire parsers of rmmap and push.
export { takeBytes } from './take-bytes';

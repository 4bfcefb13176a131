export { RmmapError } from './errors';

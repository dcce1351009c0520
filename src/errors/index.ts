/** The base error of every Ferry error class, with its stable code. */
export { errorCode, FerryError } from './ferry-error.js';

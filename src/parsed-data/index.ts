/** Reading parsed YAML/JSON tolerantly: a value of the wrong type reads as absent. */
export * from './tolerant-readers.js';

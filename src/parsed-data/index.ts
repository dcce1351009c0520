/** Reading parsed YAML/JSON tolerantly: a value of the wrong type reads as absent. */
export {
  bool,
  type Data,
  definedOnly,
  int,
  isRecord,
  list,
  oneOf,
  record,
  str,
  stringMap,
} from './tolerant-readers.js';

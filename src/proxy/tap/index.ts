/** Live requests for `ferry tap` and `ferry top`: tap points on the listeners, the admin stream. */
export type { TapEvent } from './tap-event.js';
export {
  DEFAULT_TAP_MAX_RPS,
  parseTapFilter,
  TapFilterError,
  tapMatches,
} from './tap-filter.js';
export { type Recorder, TapHub, TapPoint } from './tap-point.js';
export { serveTap } from './tap-stream.js';

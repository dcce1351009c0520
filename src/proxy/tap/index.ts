/** Live requests for `ferry tap` and `ferry top`: tap points on the listeners, the admin stream. */
export {
  clusterService,
  principalName,
  type TapDirection,
  type TapEvent,
  tapEvent,
  UNKNOWN_PEER,
} from './tap-event.js';
export {
  DEFAULT_TAP_MAX_RPS,
  parseTapFilter,
  type TapFilter,
  TapFilterError,
  tapMatches,
} from './tap-filter.js';
export { type Recorder, TapHub, TapPoint, type TapSubscriber } from './tap-point.js';
export { serveTap } from './tap-stream.js';

/**
 * The data path's one error model: every failure kind with its HTTP status, gRPC status,
 * response flag, body and counter; the error that carries one; Envoy's response flags.
 */
export { FailureError, failureOf } from './failure-error.js';
export {
  countFailure,
  countFlags,
  FAILURE,
  type Failure,
  GRPC,
  grpcStatusForHttp,
  grpcStatusOf,
} from './failure-kinds.js';
export { plainReplyFields, rawReply } from './raw-reply.js';
export { FLAG } from './response-flags.js';

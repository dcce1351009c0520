/**
 * envoy.type.v3.HttpStatus codes by enum name, for the error statuses (>= 400) a rate limit
 * may answer with; decoded configs carry the enum by name.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/v3/http_status.proto
 */
const ERROR_STATUSES: Readonly<Record<string, number>> = Object.freeze({
  BadRequest: 400,
  Unauthorized: 401,
  PaymentRequired: 402,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  ProxyAuthenticationRequired: 407,
  RequestTimeout: 408,
  Conflict: 409,
  Gone: 410,
  LengthRequired: 411,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  URITooLong: 414,
  UnsupportedMediaType: 415,
  RangeNotSatisfiable: 416,
  ExpectationFailed: 417,
  MisdirectedRequest: 421,
  UnprocessableEntity: 422,
  Locked: 423,
  FailedDependency: 424,
  UpgradeRequired: 426,
  PreconditionRequired: 428,
  TooManyRequests: 429,
  RequestHeaderFieldsTooLarge: 431,
  InternalServerError: 500,
  NotImplemented: 501,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
  HTTPVersionNotSupported: 505,
  VariantAlsoNegotiates: 506,
  InsufficientStorage: 507,
  LoopDetected: 508,
  NotExtended: 510,
  NetworkAuthenticationRequired: 511,
});

export const TOO_MANY_REQUESTS = 429;

/**
 * The status a limited request gets: the configured one, or 429 when it is absent or not an
 * error status (Envoy: "If this is set to < 400, 429 will be used instead").
 */
export function limitedStatus(code: string | number | undefined): number {
  const n = typeof code === 'number' ? code : code !== undefined ? ERROR_STATUSES[code] : undefined;
  return n !== undefined && Number.isInteger(n) && n >= 400 && n < 600 ? n : TOO_MANY_REQUESTS;
}

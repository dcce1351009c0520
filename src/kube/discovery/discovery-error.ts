/** Errors of cluster discovery's API calls, each with a stable code. */
export type DiscoveryErrorCode = 'FERRY_TOKEN_REVIEW_FAILED';

export class DiscoveryError extends Error {
  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'DiscoveryError';
  }
}

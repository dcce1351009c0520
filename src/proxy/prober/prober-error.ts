/** Why the app probes handed to the sidecar cannot be used: a stable code, the field named. */
export type ProberErrorCode = 'FERRY_PROBER_BAD_CONFIG';

export class ProberError extends Error {
  override readonly name = 'ProberError';
  constructor(
    readonly code: ProberErrorCode,
    message: string,
  ) {
    super(message);
  }
}

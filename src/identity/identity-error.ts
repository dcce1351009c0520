/** Errors of the CA, the credentials and the identity client, each with a stable code. */
export type IdentityErrorCode =
  | 'FERRY_CA_FILE'
  | 'FERRY_CA_NOT_CA'
  | 'FERRY_CA_KEY_MISMATCH'
  | 'FERRY_CA_KEY_TYPE'
  | 'FERRY_CA_EXPIRED'
  | 'FERRY_CA_CHAIN'
  | 'FERRY_TOKEN_INVALID'
  | 'FERRY_TOKEN_EXPIRED'
  | 'FERRY_TOKEN_KEY'
  | 'FERRY_CSR_MALFORMED'
  | 'FERRY_CSR_KEY_TYPE'
  | 'FERRY_CSR_SIGNATURE'
  | 'FERRY_CSR_IDENTITY'
  | 'FERRY_CSR_PLAINTEXT'
  | 'FERRY_IDENTITY_INVALID'
  | 'FERRY_CONTROL_PLANE_IDENTITY';

export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }

  /** The message with its code in front (gRPC status details, log lines). */
  get detail(): string {
    return `${this.code}: ${this.message}`;
  }
}

/**
 * A CNI error result: printed as JSON on standard output with a non-zero exit, as the CNI
 * specification requires (https://www.cni.dev/docs/spec/#error).
 */

/** Well-known codes of the specification; 100 and above are the plugin's own. */
export const CNI_ERROR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** Ferry: the capture rules could not be installed or removed. */
  captureFailed: 100,
  /** Ferry: CHECK found the capture rules missing. */
  captureMissing: 101,
} as const;

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly cniCode: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }

  /** The error result object: cniVersion, code, msg, details. */
  toResult(cniVersion: string): Record<string, unknown> {
    return {
      cniVersion,
      code: this.cniCode,
      msg: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

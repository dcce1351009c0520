/** A failure to read the capture options or to install the rules, with a stable code. */
export type CaptureErrorCode =
  | 'FERRY_CAPTURE_BAD_OPTION'
  | 'FERRY_CAPTURE_NO_IPTABLES'
  | 'FERRY_CAPTURE_APPLY_FAILED'
  | 'FERRY_ORIGINAL_DST_UNAVAILABLE';

export class CaptureError extends Error {
  override readonly name = 'CaptureError';
  constructor(
    readonly code: CaptureErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

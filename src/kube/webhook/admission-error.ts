/** An AdmissionReview that is not one: the server answers 400 with this message. */
export class AdmissionError extends Error {
  override readonly name = 'AdmissionError';
  readonly code = 'FERRY_ADMISSION_MALFORMED';
}

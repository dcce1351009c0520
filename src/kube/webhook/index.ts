/** The mutating admission webhook that injects sidecars (AdmissionReview v1 over HTTPS). */
export { AdmissionError } from './admission-error.js';
export {
  type AdmissionOptions,
  type AdmissionRequestInfo,
  type AdmissionResponse,
  type AdmissionResult,
  type AdmissionReviewResponse,
  admissionResponse,
  readAdmissionReview,
} from './admission-review.js';
export {
  createInjectionWebhook,
  type InjectionWebhook,
  type InjectionWebhookOptions,
  type ReviewOutcome,
  WEBHOOK_PATH,
  WEBHOOK_PORT,
} from './injection-webhook.js';

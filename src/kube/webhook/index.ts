/** The mutating admission webhook that injects sidecars (AdmissionReview v1 over HTTPS). */
export { AdmissionError } from './admission-error.js';
export { admissionResponse } from './admission-review.js';
export {
  createInjectionWebhook,
  type InjectionWebhook,
  type ReviewOutcome,
} from './injection-webhook.js';

/**
 * AdmissionReview v1 request → response for the injection webhook. Pure.
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request
 * The response echoes the request's uid; a patch is base64 JSON Patch with
 * `patchType: JSONPatch`; a pod left alone is `allowed: true` with no patch.
 */
import {
  completionWarning,
  InjectError,
  type InjectionTemplate,
  injectPod,
  type JsonPatch,
  type PodTemplate,
  type StringMap,
} from '../inject/index.js';
import { AdmissionError } from './admission-error.js';

const API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** base64 of the JSON Patch document. */
  readonly patch?: string;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

export interface AdmissionOptions {
  readonly template: InjectionTemplate;
  /** Labels of the request's namespace when known (see InjectionScope). */
  readonly namespaceLabels?: StringMap;
}

/** What the webhook decided, for logs and tests; `review` is what goes back on the wire. */
export interface AdmissionResult {
  readonly review: AdmissionReviewResponse;
  readonly patch: JsonPatch;
  /** Why nothing was injected, or why the pod was refused. */
  readonly reason?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function malformed(why: string): AdmissionError {
  return new AdmissionError(`malformed AdmissionReview: ${why}`);
}

export interface AdmissionRequestInfo {
  readonly uid: string;
  readonly namespace: string;
  readonly kind: string;
  readonly operation: string;
  readonly object: unknown;
}

/** Checks the envelope; throws AdmissionError naming the first field that is wrong. */
export function readAdmissionReview(review: unknown): AdmissionRequestInfo {
  if (!isObject(review)) throw malformed('the body is not a JSON object');
  if (review.kind !== 'AdmissionReview') {
    throw malformed(`kind is ${JSON.stringify(review.kind)}, expected "AdmissionReview"`);
  }
  if (review.apiVersion !== API_VERSION) {
    throw malformed(
      `apiVersion is ${JSON.stringify(review.apiVersion)}, expected "${API_VERSION}"`,
    );
  }
  const r = review.request;
  if (!isObject(r)) throw malformed('request is missing');
  if (typeof r.uid !== 'string' || r.uid === '') throw malformed('request.uid is missing');
  const kind = isObject(r.kind) && typeof r.kind.kind === 'string' ? r.kind.kind : undefined;
  if (kind === undefined) throw malformed('request.kind.kind is missing');
  if (typeof r.operation !== 'string') throw malformed('request.operation is missing');
  return {
    uid: r.uid,
    namespace: typeof r.namespace === 'string' ? r.namespace : '',
    kind,
    operation: r.operation,
    object: r.object,
  };
}

function reply(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: API_VERSION, kind: 'AdmissionReview', response };
}

export function admissionResponse(review: unknown, options: AdmissionOptions): AdmissionResult {
  const req = readAdmissionReview(review);
  if (req.kind !== 'Pod' || req.operation !== 'CREATE') {
    const reason = `not a Pod CREATE (${req.kind} ${req.operation})`;
    return { review: reply({ uid: req.uid, allowed: true }), patch: [], reason };
  }
  const name = isObject(req.object) && isObject(req.object.metadata) ? req.object.metadata : {};
  const podName =
    (typeof name.name === 'string' && name.name) ||
    (typeof name.generateName === 'string' && `${name.generateName}*`) ||
    '(unnamed)';
  try {
    const { decision, patch } = injectPod(
      req.object,
      options.template,
      { mode: 'webhook', namespaceLabels: options.namespaceLabels, namespace: req.namespace },
      { at: '', where: `pod ${req.namespace}/${podName}` },
    );
    if (!decision.inject) {
      // A pod of another mesh, or one that opted out of another mesh, is admitted as it is,
      // and whoever created it is told why it has no Ferry sidecar (kubectl prints warnings).
      const warnings =
        decision.notice === 'quiet' ? [] : [`ferry: no sidecar injected: ${decision.reason}`];
      return {
        review: reply({ uid: req.uid, allowed: true, ...(warnings.length ? { warnings } : {}) }),
        patch: [],
        reason: decision.reason,
      };
    }
    // injectPod checked the object's shape.
    const warning = completionWarning(req.object as PodTemplate, undefined, options.template);
    return {
      review: reply({
        uid: req.uid,
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
        ...(warning ? { warnings: [`ferry: ${warning}`] } : {}),
      }),
      patch,
    };
  } catch (err) {
    // A pod the injector cannot read (a bad annotation value, a malformed spec) is
    // refused with the reason, so whoever created it sees what to fix.
    if (!(err instanceof InjectError)) throw err;
    return {
      review: reply({
        uid: req.uid,
        allowed: false,
        status: { code: 400, message: `ferry injection: ${err.message}` },
      }),
      patch: [],
      reason: err.message,
    };
  }
}

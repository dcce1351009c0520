/**
 * Checks that a value from outside (an AdmissionReview, a manifest) has the pod shape
 * injection relies on, so a malformed object is a clear error and not a crash.
 */
import { InjectError } from './inject-error.js';
import type { PodTemplate } from './kube-types.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(where: string, why: string): InjectError {
  return new InjectError('FERRY_INJECT_BAD_MANIFEST', `${where}: ${why}`);
}

function checkStringMap(where: string, v: unknown): void {
  if (v === undefined || v === null) return;
  if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw bad(where, 'must be a map of strings');
  }
}

function checkContainers(where: string, v: unknown, required: boolean): void {
  if ((v === undefined || v === null) && !required) return;
  if (!Array.isArray(v) || (required && v.length === 0)) {
    throw bad(where, required ? 'must be a non-empty list of containers' : 'must be a list');
  }
  v.forEach((c, i) => {
    if (!isObject(c) || typeof c.name !== 'string' || c.name === '') {
      throw bad(`${where}[${i}]`, 'must be a container with a name');
    }
    if (c.ports !== undefined && !Array.isArray(c.ports))
      throw bad(`${where}[${i}].ports`, 'must be a list');
  });
}

/** `where` names the object in errors, e.g. "Deployment default/web: spec.template". */
export function asPodTemplate(where: string, v: unknown): PodTemplate {
  if (!isObject(v)) throw bad(where, 'is not an object');
  if (v.metadata !== undefined && v.metadata !== null) {
    if (!isObject(v.metadata)) throw bad(`${where}.metadata`, 'is not an object');
    checkStringMap(`${where}.metadata.labels`, v.metadata.labels);
    checkStringMap(`${where}.metadata.annotations`, v.metadata.annotations);
  }
  if (!isObject(v.spec)) throw bad(`${where}.spec`, 'is missing or not an object');
  checkContainers(`${where}.spec.containers`, v.spec.containers, true);
  checkContainers(`${where}.spec.initContainers`, v.spec.initContainers, false);
  return v as unknown as PodTemplate;
}

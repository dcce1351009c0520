/** One pod: the decision, and the patch when it is injected. Pure. */
import {
  type InjectionDecision,
  type InjectionScope,
  injectionDecision,
} from './injection-policy.js';
import type { InjectionTemplate } from './injection-template.js';
import type { JsonPatch } from './json-patch.js';
import { type PatchContext, podPatch } from './pod-patch.js';
import { asPodTemplate } from './pod-shape.js';

export interface PodInjection {
  readonly decision: InjectionDecision;
  /** Empty when the pod is left alone. */
  readonly patch: JsonPatch;
}

/**
 * `pod` comes from outside and is checked first (FERRY_INJECT_BAD_MANIFEST); a bad
 * annotation value throws FERRY_INJECT_BAD_ANNOTATION.
 */
export function injectPod(
  pod: unknown,
  template: InjectionTemplate,
  scope: InjectionScope,
  ctx: PatchContext & { readonly where: string },
): PodInjection {
  const checked = asPodTemplate(ctx.where, pod);
  const decision = injectionDecision(checked, scope);
  if (!decision.inject) return { decision, patch: [] };
  return { decision, patch: podPatch(checked, template, ctx) };
}

/**
 * Status conditions, with the types and reasons the Gateway API defines.
 * https://gateway-api.sigs.k8s.io/reference/spec/#gatewayconditiontype
 */

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

export function condition(type: string, ok: boolean, reason: string, message = ''): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

/** The first condition that is False, if any. */
export function firstFalse(conditions: readonly Condition[]): Condition | undefined {
  return conditions.find((c) => c.status === 'False');
}

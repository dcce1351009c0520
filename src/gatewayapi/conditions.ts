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

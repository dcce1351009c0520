/** Errors of the control plane's own Kubernetes API calls, each with a stable code. */
export type KubeErrorCode =
  | 'FERRY_KUBE_CONFIG'
  | 'FERRY_KUBE_API'
  | 'FERRY_CA_SECRET'
  | 'FERRY_WEBHOOK_CONFIG';

export class KubeError extends Error {
  constructor(
    readonly code: KubeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

/** The HTTP status of a failed client-node call (ApiException.code), if it has one. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * One line for a failed API call: the status, the API server's own message when its body is
 * a Status object, and what a 401/403 usually means.
 */
export function describeApiError(err: unknown): string {
  const status = httpStatus(err);
  let message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {}
  }
  const hint =
    status === 401
      ? ' (the API server did not accept the credentials)'
      : status === 403
        ? " (the control plane's RBAC does not allow it)"
        : '';
  return `${status !== undefined ? `HTTP ${status}: ` : ''}${message.slice(0, 300)}${hint}`;
}

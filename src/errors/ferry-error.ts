/**
 * The one base of Ferry's errors. Every error class extends it and carries a stable `code`
 * (`FERRY_*`, or the code of the library it wraps); callers classify by that code and by the
 * cause chain, never by matching message text, which is free to change.
 */
export class FerryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The stable code of any error: a FerryError's, node's (`ECONNREFUSED`...), or ''. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

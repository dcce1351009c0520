/**
 * An error that stands for one failure kind of the table: the data path throws or aborts
 * with it, and whoever meets it answers from its `failure`, never from its message.
 */
import { FerryError } from '../../errors/index.js';
import type { Failure } from './failure-kinds.js';

export class FailureError extends FerryError {
  constructor(
    readonly failure: Failure,
    message: string = failure.body,
  ) {
    super(failure.code, message);
  }
}

/** The failure an error stands for, if it is one of the table's. */
export function failureOf(err: unknown): Failure | undefined {
  return err instanceof FailureError ? err.failure : undefined;
}

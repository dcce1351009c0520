/** Why a workload could not be injected: a stable code and a message that names the field. */
export type InjectErrorCode =
  | 'FERRY_INJECT_BAD_ANNOTATION'
  | 'FERRY_INJECT_BAD_MANIFEST'
  | 'FERRY_INJECT_BAD_VERSION'
  | 'FERRY_INJECT_BAD_OPTION'
  | 'FERRY_INJECT_OTHER_MESH';

export class InjectError extends Error {
  override readonly name = 'InjectError';
  constructor(
    readonly code: InjectErrorCode,
    message: string,
  ) {
    super(message);
  }
}

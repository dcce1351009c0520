/** Why the app probes handed to the sidecar cannot be used: a stable code, the field named. */
import { FerryError } from '../../errors/index.js';

export type ProberErrorCode = 'FERRY_PROBER_BAD_CONFIG';

export class ProberError extends FerryError {
  declare readonly code: ProberErrorCode;
  constructor(code: ProberErrorCode, message: string) {
    super(code, message);
  }
}

/** Errors of the gateway's configuration, with stable codes (the listener or secret named). */
import { FerryError } from '../../errors/index.js';

export type GatewayErrorCode =
  /** A listener the gateway cannot serve as its chains say. */
  | 'FERRY_GATEWAY_LISTENER'
  /** A secret whose certificate or key does not load. */
  | 'FERRY_GATEWAY_SECRET';

export class GatewayConfigError extends FerryError {
  declare readonly code: GatewayErrorCode;
  constructor(
    code: GatewayErrorCode,
    /** Where: `listener <name>` or `secret <name>`, with the field path. */
    readonly at: string,
    readonly problem: string,
  ) {
    super(code, `${at}: ${problem}`);
  }
}

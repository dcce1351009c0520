/** Requests and connections refused by authorization: one warning each, with the rule. */
import type { Logger } from '../../log/index.js';
import type { Denial } from '../http/index.js';

export function denialLogger(log: Logger): (d: Denial) => void {
  return (d) =>
    log.warn(
      {
        rule: d.policy ?? '(no ALLOW rule matched)',
        peer: d.principal ?? 'none',
        method: d.method,
        authority: d.authority,
        path: d.path,
      },
      'request denied by authorization policy',
    );
}

/**
 * A problem in a Gateway API resource, at a path into the data it was read from. The mesh
 * file turns it into FILE:LINE:COL (its Issue has the same shape); Kubernetes into a status
 * condition's message.
 */
export interface GatewayApiIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** 'key': the problem is the property name itself. */
  readonly at?: 'key' | 'value';
}

/**
 * Whether a sidecar runs what it was last sent, per xDS type, from the control plane's
 * per-stream bookkeeping (/debug/syncz). The ADS server keeps the last NACK after later
 * ACKs, so a NACK counts only while it answers the latest response (same nonce).
 */
export interface SyncTypeStatus {
  readonly type: string;
  readonly wildcard: boolean;
  readonly names: readonly string[];
  readonly lastSentVersion: string;
  readonly lastNonce: string;
  readonly lastAckedVersion: string;
  readonly lastAckedAt?: string;
  readonly lastNack?: { nonce: string; version: string; message: string; at: string };
}

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

export function syncState(t: SyncTypeStatus): SyncState {
  if (t.lastNack && t.lastNack.nonce === t.lastNonce) return 'NACKED';
  if (!t.lastNonce) return 'NOT SENT';
  if (t.lastAckedVersion === t.lastSentVersion) return 'SYNCED';
  return 'STALE';
}

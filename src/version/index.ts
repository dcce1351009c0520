/**
 * Ferry's version: package.json's, read once. The sidecar announces it to the control plane
 * (Node.user_agent_version), the control plane serves it on /version, `ferry version`
 * prints both.
 */
import { readFileSync } from 'node:fs';

// dist/src/version/ (compiled) -> the package root.
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const FERRY_VERSION: string = readVersion();

/** What a Ferry process reports about itself. */
export interface VersionInfo {
  readonly version: string;
  readonly node: string;
  readonly platform: string;
}

export function versionInfo(): VersionInfo {
  return {
    version: FERRY_VERSION,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
  };
}

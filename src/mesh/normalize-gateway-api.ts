/**
 * The mesh file's `gatewayApi:` (Gateway API resources in their own shape) and `secrets:`
 * (certificate and key files for Gateway listeners, named as Kubernetes Secrets).
 * References between them and to services are not errors here: the Gateway API reports them
 * as status conditions (src/gatewayapi/resolve.ts), which the control plane logs.
 */
import {
  type GatewayApiConfig,
  normalizeResources,
  type SecretFiles,
} from '../gatewayapi/index.js';
import { list, record, str } from '../parsed-data/index.js';
import type { Issue } from './issue.js';

export function normalizeGatewayApi(
  raw: unknown,
  issues: Issue[],
): { gatewayApi?: GatewayApiConfig } {
  if (raw === undefined) return {};
  const result = normalizeResources(list(raw), ['gatewayApi']);
  issues.push(...result.issues);
  return { gatewayApi: result.config };
}

export function normalizeSecrets(raw: unknown, issues: Issue[]): { secrets?: SecretFiles[] } {
  if (raw === undefined) return {};
  const first = new Map<string, number>();
  const secrets = list(raw).map((item, i): SecretFiles => {
    const s = record(item);
    const secret = {
      name: str(s.name) ?? '',
      namespace: str(s.namespace) ?? 'default',
      certFile: str(s.certFile) ?? '',
      keyFile: str(s.keyFile) ?? '',
    };
    const key = `${secret.namespace}/${secret.name}`;
    const seen = first.get(key);
    if (seen === undefined) first.set(key, i);
    else {
      issues.push({
        path: ['secrets', i, 'name'],
        message: `duplicate secret '${secret.name}' in namespace '${secret.namespace}'; see secrets[${seen}]`,
      });
    }
    return secret;
  });
  return { secrets };
}

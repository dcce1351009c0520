/**
 * The mesh's CA root kept in a Kubernetes Secret (instead of a CA directory), so that every
 * replica and every restart signs with the same root, as istiod keeps its self-signed root
 * in istio-ca-secret.
 *
 * On start: read the Secret. Filled: use it. Missing: make a root and create the Secret.
 * Present but empty (the Helm chart creates it so): make a root and fill it, an update
 * conditional on the resourceVersion read. Several replicas start at once, so both writes
 * can lose a race: the API server answers 409 Conflict to the loser (the name is taken; the
 * object changed since it was read), which then reads the Secret again and takes the root
 * the winner wrote. A Secret holding only half a root is refused, never overwritten.
 */
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { type CaMaterial, caMaterialFromPem, makeRootCa } from '../../identity/index.js';
import type { Logger } from '../../log/index.js';
import { describeApiError, httpStatus, KubeError } from './kube-error.js';

/** The Secret's keys: the root certificate and its key, PEM. */
export const CA_SECRET_KEYS = { cert: 'ca.crt', key: 'ca.key' } as const;

export interface CaSecretOptions {
  readonly api: CoreV1Api;
  readonly namespace: string;
  readonly name: string;
  /** For the subject of a root made here. */
  readonly trustDomain: string;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface CaFromSecret {
  readonly material: CaMaterial;
  /** created: this replica made the root; reused: it was there (or another replica won). */
  readonly source: 'created' | 'reused';
}

/** Enough rounds for any number of replicas: each 409 means someone else's root is there. */
const MAX_ROUNDS = 5;

export async function loadOrCreateCaSecret(o: CaSecretOptions): Promise<CaFromSecret> {
  const where = `Secret ${o.namespace}/${o.name}`;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const secret = await read(o, where);
    const data = secret?.data ?? {};
    const cert = data[CA_SECRET_KEYS.cert];
    const key = data[CA_SECRET_KEYS.key];
    if (cert && key) {
      const material = await caMaterialFromPem(
        {
          cert: { pem: decode(cert), where: `${where} key ${CA_SECRET_KEYS.cert}` },
          key: { pem: decode(key), where: `${where} key ${CA_SECRET_KEYS.key}` },
        },
        o.now,
      );
      o.log.info(
        { secret: where, subject: material.cert.subject },
        'CA: using the root in the Secret',
      );
      return { material, source: 'reused' };
    }
    if (cert || key)
      throw new KubeError(
        'FERRY_CA_SECRET',
        `${where} holds ${cert ? CA_SECRET_KEYS.cert : CA_SECRET_KEYS.key} but not ${cert ? CA_SECRET_KEYS.key : CA_SECRET_KEYS.cert}; ` +
          'it is left as it is: fix or delete it',
      );
    const root = await makeRootCa(o.trustDomain, o.now);
    const filled = {
      [CA_SECRET_KEYS.cert]: Buffer.from(root.certPem).toString('base64'),
      [CA_SECRET_KEYS.key]: Buffer.from(root.keyPem).toString('base64'),
    };
    const won = secret
      ? await write(where, 'update', () =>
          o.api.replaceNamespacedSecret({
            name: o.name,
            namespace: o.namespace,
            // The resourceVersion read makes this conditional: a replica that filled the
            // Secret meanwhile makes it 409.
            body: { ...secret, data: { ...(secret.data ?? {}), ...filled } },
          }),
        )
      : await write(where, 'create', () =>
          o.api.createNamespacedSecret({
            namespace: o.namespace,
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: {
                name: o.name,
                namespace: o.namespace,
                labels: {
                  'app.kubernetes.io/part-of': 'ferry',
                  'app.kubernetes.io/component': 'ca',
                },
              },
              type: 'Opaque',
              data: filled,
            },
          }),
        );
    if (won) {
      const material = await caMaterialFromPem(
        {
          cert: { pem: root.certPem, where: `${where} key ${CA_SECRET_KEYS.cert}` },
          key: { pem: root.keyPem, where: `${where} key ${CA_SECRET_KEYS.key}` },
        },
        o.now,
      );
      o.log.info(
        { secret: where, subject: material.cert.subject },
        'CA: made a new root and stored it in the Secret',
      );
      return { material, source: 'created' };
    }
    o.log.info({ secret: where }, 'CA: another replica wrote the Secret first; reading its root');
  }
  throw new KubeError(
    'FERRY_CA_SECRET',
    `${where}: still conflicting after ${MAX_ROUNDS} attempts to read or write it`,
  );
}

async function read(o: CaSecretOptions, where: string): Promise<V1Secret | undefined> {
  try {
    return await o.api.readNamespacedSecret({ name: o.name, namespace: o.namespace });
  } catch (err) {
    if (httpStatus(err) === 404) return undefined;
    throw new KubeError('FERRY_CA_SECRET', `cannot read ${where}: ${describeApiError(err)}`);
  }
}

/** True when the write went through; false when another replica was first. */
async function write(where: string, what: string, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    // 409: the name is taken, or the object changed since it was read. 404 on an update:
    // it was deleted since; either way, read again.
    const status = httpStatus(err);
    if (status === 409 || (status === 404 && what === 'update')) return false;
    throw new KubeError('FERRY_CA_SECRET', `cannot ${what} ${where}: ${describeApiError(err)}`);
  }
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

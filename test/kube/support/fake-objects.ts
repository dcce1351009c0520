/**
 * The API server objects the control plane reads and writes, kept with the API server's
 * semantics on a ReplayApiServer: a Secret (GET; POST create, 409 AlreadyExists when taken;
 * PUT update, 409 Conflict on a stale resourceVersion), a MutatingWebhookConfiguration (GET;
 * PATCH with a JSON Patch: add, replace, test, a failed test is 422), the /version
 * endpoint and TokenReviews. Each write bumps one resourceVersion counter, as etcd's revision.
 *
 * `holdReads(path, n)` holds the first n GETs of an object until n have arrived, so that n
 * replicas starting together are made to read the same state before any of them writes:
 * the race a real API server allows, made certain.
 */
import {
  gate,
  type RecordedRequest,
  type ReplayApiServer,
  type Step,
  status,
} from './replay-api-server.js';

// biome-ignore lint/suspicious/noExplicitAny: objects are JSON kept as the API server keeps them.
type Obj = Record<string, any>;

export const WEBHOOK_CONFIG = 'ferry-sidecar-injector';
export const CA_SECRET = 'ferry-ca-root';
export const NAMESPACE = 'ferry-system';

export function secretPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${namespace}/secrets/${name}`;
}

export function webhookConfigPath(name: string): string {
  return `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`;
}

export const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';

/** The chart's MutatingWebhookConfiguration, caBundle empty (helm/ferry/templates). */
export function chartWebhookConfig(name = WEBHOOK_CONFIG): Obj {
  const webhook = (hookName: string) => ({
    name: hookName,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    clientConfig: {
      service: { name: 'ferry-control-plane', namespace: NAMESPACE, path: '/inject', port: 15017 },
    },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [webhook('namespace.ferry.io'), webhook('object.ferry.io')],
  };
}

export class FakeObjects {
  private revision = 1000;
  private readonly objects = new Map<string, Obj>();
  private readonly held = new Map<
    string,
    { count: number; open: () => void; wait: Promise<void> }
  >();
  /** Every write that reached an object, in order: `${method} ${path} -> ${status}`. */
  readonly writes: string[] = [];

  constructor(private readonly server: ReplayApiServer) {
    server.route('GET', '/version', () => ({
      body: { major: '1', minor: '30', gitVersion: 'v1.30.2', platform: 'linux/amd64' },
    }));
  }

  /** A namespaced Secret's collection and item, empty until created (or `put`). */
  secret(namespace: string, name: string): this {
    const item = secretPath(namespace, name);
    this.server.route('GET', item, (r) => this.read(r));
    this.server.route('PUT', item, (r) => this.update(r));
    this.server.route('POST', `/api/v1/namespaces/${namespace}/secrets`, (r) => {
      const body = JSON.parse(r.body) as Obj;
      const path = secretPath(namespace, body.metadata?.name);
      if (this.objects.has(path))
        return this.wrote(
          r,
          status(409, 'AlreadyExists', `secrets "${body.metadata?.name}" already exists`),
        );
      const stored = this.store(path, body);
      return this.wrote(r, { status: 201, body: stored });
    });
    return this;
  }

  /** A cluster-scoped MutatingWebhookConfiguration that can be read and JSON-patched. */
  webhookConfig(name = WEBHOOK_CONFIG): this {
    const path = webhookConfigPath(name);
    this.server.route('GET', path, (r) => this.read(r));
    this.server.route('PATCH', path, (r) => this.patch(r));
    return this;
  }

  /** Puts an object as if created earlier (by Helm). */
  put(path: string, object: Obj): this {
    this.store(path, object);
    return this;
  }

  get(path: string): Obj | undefined {
    const o = this.objects.get(path);
    return o ? structuredClone(o) : undefined;
  }

  /** The first `count` GETs of `path` are answered once `count` have arrived. */
  holdReads(path: string, count: number): this {
    const g = gate();
    this.held.set(path, { count, open: g.open, wait: g.promise });
    return this;
  }

  private async read(r: RecordedRequest): Promise<Step> {
    const held = this.held.get(r.path);
    if (held) {
      held.count--;
      if (held.count <= 0) {
        this.held.delete(r.path);
        held.open();
      }
      await held.wait;
    }
    const o = this.objects.get(r.path);
    return o ? { body: o } : status(404, 'NotFound', `"${r.path.split('/').pop()}" not found`);
  }

  private update(r: RecordedRequest): Step {
    const current = this.objects.get(r.path);
    const body = JSON.parse(r.body) as Obj;
    if (!current) return this.wrote(r, status(404, 'NotFound', 'not found'));
    if (body.metadata?.resourceVersion !== current.metadata.resourceVersion)
      return this.wrote(
        r,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on secrets "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
        ),
      );
    return this.wrote(r, { body: this.store(r.path, body) });
  }

  private patch(r: RecordedRequest): Step {
    const current = this.objects.get(r.path);
    if (!current) return this.wrote(r, status(404, 'NotFound', 'not found'));
    if (r.contentType !== 'application/json-patch+json')
      return this.wrote(r, status(415, 'UnsupportedMediaType', `unsupported ${r.contentType}`));
    const next = structuredClone(current);
    for (const op of JSON.parse(r.body) as Obj[]) {
      const tokens = (op.path as string)
        .split('/')
        .slice(1)
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
      const last = tokens.pop() as string;
      let parent: Obj = next;
      for (const t of tokens) {
        parent = parent?.[t];
        if (parent === undefined)
          return this.wrote(r, status(422, 'Invalid', `path ${op.path} does not exist`));
      }
      if (op.op === 'test') {
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
          return this.wrote(r, status(422, 'Invalid', `test of ${op.path} failed`));
      } else if (op.op === 'add' || op.op === 'replace') {
        if (op.op === 'replace' && !(last in parent))
          return this.wrote(r, status(422, 'Invalid', `replace of missing ${op.path}`));
        parent[last] = op.value;
      } else return this.wrote(r, status(422, 'Invalid', `op ${op.op} not supported here`));
    }
    return this.wrote(r, { body: this.store(r.path, next) });
  }

  private store(path: string, object: Obj): Obj {
    const stored = structuredClone(object);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.revision) };
    this.objects.set(path, stored);
    return structuredClone(stored);
  }

  private wrote(r: RecordedRequest, step: Step): Step {
    this.writes.push(`${r.method} ${r.path} -> ${step.status ?? 200}`);
    return step;
  }
}

interface ReviewRequest {
  readonly spec: { readonly token: string; readonly audiences?: readonly string[] };
}

/** The TokenReview the API server sends back: the request's spec and the verdict. */
function tokenReview(request: ReviewRequest, verdict: object): Step {
  return {
    status: 201,
    body: {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: request.spec,
      status: verdict,
    },
  };
}

/**
 * What an API server answers (authentication.k8s.io/v1) for a valid token of the service
 * account `user` (system:serviceaccount:<namespace>:<name>), issued for `audiences`.
 */
export function tokenReviewAuthenticated(
  request: ReviewRequest,
  user: string,
  audiences: readonly string[],
): Step {
  const namespace = user.split(':')[2] ?? '';
  return tokenReview(request, {
    authenticated: true,
    user: {
      username: user,
      uid: '6f2c9a1e-3b7d-4e58-a0c4-9d1e7b3f5a62',
      groups: [
        'system:serviceaccounts',
        `system:serviceaccounts:${namespace}`,
        'system:authenticated',
      ],
      extra: {
        'authentication.kubernetes.io/pod-name': ['web-7d9f6c5b8-x1mzp'],
        'authentication.kubernetes.io/pod-uid': ['07c9e1f3-6b8d-4fa0-8c4e-5d7f9b1a3c06'],
      },
    },
    audiences,
  });
}

/** What an API server answers for a token it does not accept. */
export function tokenReviewUnauthenticated(request: ReviewRequest, error: string): Step {
  return tokenReview(request, { user: {}, error });
}

/**
 * TokenReviewVerifier against an API server answering TokenReviews over real HTTPS, with
 * responses shaped as a real API server's (authentication.k8s.io/v1).
 */
import assert from 'node:assert/strict';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { IdentityError } from '../../../src/identity/index.js';
import { DiscoveryError, TokenReviewVerifier } from '../../../src/kube/discovery/index.js';
import { ReplayApiServer, type Step, status } from './replay-api-server.js';

const PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const POD_TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJlY29yZGVkIn0.payload.signature';

interface ReviewRequest {
  apiVersion: string;
  kind: string;
  spec: { token: string; audiences?: string[] };
}

/** What an API server answers for a valid projected service-account token. */
function authenticated(request: ReviewRequest, user: string, audiences: string[]): Step {
  return {
    status: 201,
    body: {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: request.spec,
      status: {
        authenticated: true,
        user: {
          username: user,
          uid: '6f2c9a1e-3b7d-4e58-a0c4-9d1e7b3f5a62',
          groups: ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated'],
          extra: {
            'authentication.kubernetes.io/pod-name': ['web-7d9f6c5b8-x1mzp'],
            'authentication.kubernetes.io/pod-uid': ['07c9e1f3-6b8d-4fa0-8c4e-5d7f9b1a3c06'],
          },
        },
        audiences,
      },
    },
  };
}

function unauthenticated(request: ReviewRequest, error: string): Step {
  return {
    status: 201,
    body: {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: request.spec,
      status: { user: {}, error },
    },
  };
}

describe('TokenReviewVerifier (TokenReview over HTTPS)', () => {
  let server: ReplayApiServer;
  let reviews: ReviewRequest[];

  beforeEach(async () => {
    server = await ReplayApiServer.start();
    reviews = [];
  });
  afterEach(() => server.close());

  function verifier(audiences?: string[]): TokenReviewVerifier {
    return new TokenReviewVerifier({
      api: server.kubeConfig().makeApiClient(AuthenticationV1Api),
      ...(audiences ? { audiences } : {}),
    });
  }

  function answer(respond: (r: ReviewRequest) => Step): void {
    server.post(PATH, (body) => {
      reviews.push(body as ReviewRequest);
      return respond(body as ReviewRequest);
    });
  }

  it('a service account’s token is that workload; the review carries the token and audience', async () => {
    answer((r) => authenticated(r, 'system:serviceaccount:shop:web', ['ferry']));
    assert.deepEqual(await verifier(['ferry']).verify(POD_TOKEN), {
      namespace: 'shop',
      serviceAccount: 'web',
    });
    assert.deepEqual(reviews, [
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token: POD_TOKEN, audiences: ['ferry'] },
      },
    ]);
  });

  it('a token the API server does not authenticate is refused with its reason', async () => {
    answer((r) => unauthenticated(r, '[invalid bearer token, service account token has expired]'));
    await assert.rejects(
      verifier().verify(POD_TOKEN),
      (e: unknown) =>
        e instanceof IdentityError &&
        e.code === 'FERRY_TOKEN_INVALID' &&
        e.message.includes('service account token has expired'),
    );
  });

  it('a token for another audience is refused, naming both', async () => {
    answer((r) =>
      authenticated(r, 'system:serviceaccount:shop:web', ['https://kubernetes.default.svc']),
    );
    await assert.rejects(
      verifier(['ferry']).verify(POD_TOKEN),
      (e: unknown) =>
        e instanceof IdentityError &&
        e.code === 'FERRY_TOKEN_INVALID' &&
        /not for audience ferry .*kubernetes\.default\.svc/.test(e.message),
    );
  });

  it('a user who is not a service account is refused', async () => {
    answer((r) => authenticated(r, 'kubernetes-admin', []));
    await assert.rejects(
      verifier().verify(POD_TOKEN),
      (e: unknown) =>
        e instanceof IdentityError &&
        e.code === 'FERRY_TOKEN_INVALID' &&
        e.message.includes('"kubernetes-admin", not to a service account'),
    );
  });

  it('a malformed service-account name is refused by the identity rules', async () => {
    answer((r) => authenticated(r, 'system:serviceaccount:Shop_NS:web', []));
    await assert.rejects(
      verifier().verify(POD_TOKEN),
      (e: unknown) => e instanceof IdentityError && e.code === 'FERRY_IDENTITY_INVALID',
    );
  });

  it('an empty token is refused without asking the API server', async () => {
    answer((r) => authenticated(r, 'system:serviceaccount:shop:web', []));
    await assert.rejects(
      verifier().verify(''),
      (e: unknown) =>
        e instanceof IdentityError &&
        e.code === 'FERRY_TOKEN_INVALID' &&
        e.message.includes('no service-account token'),
    );
    assert.equal(reviews.length, 0);
  });

  it('the API server refusing the review (RBAC) is a DiscoveryError, not a bad token', async () => {
    server.post(PATH, () =>
      status(
        403,
        'Forbidden',
        'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:ferry-system:ferry-control-plane" cannot create resource "tokenreviews"',
      ),
    );
    await assert.rejects(
      verifier().verify(POD_TOKEN),
      (e: unknown) =>
        e instanceof DiscoveryError &&
        e.code === 'FERRY_TOKEN_REVIEW_FAILED' &&
        e.message.includes('HTTP 403'),
    );
  });
});

/**
 * TokenReviewVerifier against an API server answering TokenReviews over real HTTPS, with
 * responses shaped as a real API server's (authentication.k8s.io/v1).
 */
import assert from 'node:assert/strict';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { IdentityError } from '../../../src/identity/index.js';
import { DiscoveryError, TokenReviewVerifier } from '../../../src/kube/discovery/index.js';
import { tokenReviewAuthenticated, tokenReviewUnauthenticated } from '../support/fake-objects.js';
import { ReplayApiServer, type Step, status } from '../support/replay-api-server.js';

const PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const POD_TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJlY29yZGVkIn0.payload.signature';

interface ReviewRequest {
  apiVersion: string;
  kind: string;
  spec: { token: string; audiences?: string[] };
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
    answer((r) => tokenReviewAuthenticated(r, 'system:serviceaccount:shop:web', ['ferry']));
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
    answer((r) =>
      tokenReviewUnauthenticated(r, '[invalid bearer token, service account token has expired]'),
    );
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
      tokenReviewAuthenticated(r, 'system:serviceaccount:shop:web', [
        'https://kubernetes.default.svc',
      ]),
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
    answer((r) => tokenReviewAuthenticated(r, 'kubernetes-admin', []));
    await assert.rejects(
      verifier().verify(POD_TOKEN),
      (e: unknown) =>
        e instanceof IdentityError &&
        e.code === 'FERRY_TOKEN_INVALID' &&
        e.message.includes('"kubernetes-admin", not to a service account'),
    );
  });

  it('a malformed service-account name is refused by the identity rules', async () => {
    answer((r) => tokenReviewAuthenticated(r, 'system:serviceaccount:Shop_NS:web', []));
    await assert.rejects(
      verifier().verify(POD_TOKEN),
      (e: unknown) => e instanceof IdentityError && e.code === 'FERRY_IDENTITY_INVALID',
    );
  });

  it('an empty token is refused without asking the API server', async () => {
    answer((r) => tokenReviewAuthenticated(r, 'system:serviceaccount:shop:web', []));
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

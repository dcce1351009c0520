/**
 * GAMMA filters over real sockets, after the mesh conformance scenarios
 * (MeshHTTPRouteRedirectPath, MeshHTTPRouteRequestHeaderModifier, MeshHTTPRouteRewritePath):
 * an HTTPRoute on the Service `api` whose rules redirect, modify headers both ways and
 * rewrite paths. The client's sidecar does it all: it answers the redirect itself (the app
 * never sees the request), the app sees the added headers and the rewritten paths, and the
 * share of a backend that does not resolve is answered 500.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { parseMesh } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { inParallel, send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName } from '../../support/mesh.js';
import {
  startControlPlane,
  startSidecar,
  waitForHosts,
  waitForQuiet,
} from '../../support/mesh-harness.js';

function meshText(apiPort: number): string {
  return `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: ${apiPort} }]
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: api-filters }
    spec:
      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]
      rules:
        - matches: [{ path: { type: PathPrefix, value: /old } }]
          filters:
            - type: RequestRedirect
              requestRedirect: { hostname: example.org, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 }
        - matches: [{ path: { type: PathPrefix, value: /headers } }]
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: { set: [{ name: x-header-set, value: set-overwrites-values }], add: [{ name: x-header-add, value: header-val-1 }], remove: [x-header-remove] }
            - type: ResponseHeaderModifier
              responseHeaderModifier: { set: [{ name: x-answer, value: "42" }] }
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /full } }]
          filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /one } } }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /strip-prefix } }]
          filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /half } }]
          backendRefs: [{ name: api, port: 8080 }, { name: nothing, port: 8080 }]
`;
}

describe('integration: GAMMA filters applied by the client sidecar', function () {
  this.timeout(30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  let api: HttpUpstream;
  let cp: ControlPlane;
  let client: Sidecar;
  /** The headers of every request the app saw, by the path it saw. */
  const headersAt = new Map<string, http.IncomingHttpHeaders>();

  before(async () => {
    api = await startHttpUpstream('api', (seen, req) => {
      headersAt.set(seen.url, req.headers);
      return false;
    });
    const parsed = parseMesh(meshText(api.port), 'mesh.yaml');
    assert.ok(parsed.ok);
    cp = await startControlPlane(parsed.config);
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 1);
    await waitForQuiet(cp);
  });

  after(async () => {
    agent.destroy();
    await client?.stop(100);
    await cp?.close();
    await api?.close();
  });

  it('a RequestRedirect is answered by the sidecar: 301 to the new host and prefix, the app sees nothing', async () => {
    const before = api.seen.length;
    const r = await send(client.ports.outbound, { host: 'api:8080', path: '/old/page?x=1' });
    assert.equal(r.status, 301, r.body);
    assert.equal(r.headers.location, 'http://example.org:8080/new/page?x=1');
    assert.equal(api.seen.length, before, 'the app was not called');
  });

  it('a RequestHeaderModifier sets, adds and removes what the app sees; a ResponseHeaderModifier what the client sees', async () => {
    const r = await send(client.ports.outbound, {
      host: 'api:8080',
      path: '/headers/a',
      headers: { 'x-header-set': 'set-val', 'x-header-remove': 'remove-val' },
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'api');
    assert.equal(r.headers['x-answer'], '42');
    const seen = headersAt.get('/headers/a');
    assert.ok(seen, 'the app saw /headers/a');
    assert.equal(seen['x-header-set'], 'set-overwrites-values');
    assert.equal(seen['x-header-add'], 'header-val-1');
    assert.equal(seen['x-header-remove'], undefined);
  });

  it('URLRewrite ReplaceFullPath: the app sees the whole path replaced, the query kept', async () => {
    const r = await send(client.ports.outbound, { host: 'api:8080', path: '/full/one/two?q=1' });
    assert.equal(r.status, 200, r.body);
    assert.ok(headersAt.has('/one?q=1'), `the app saw ${[...headersAt.keys()].join(', ')}`);
  });

  it('URLRewrite ReplacePrefixMatch `/`: `/strip-prefix/three` is `/three`, `/strip-prefix` is `/`', async () => {
    for (const [asked, seen] of [
      ['/strip-prefix/three', '/three'],
      ['/strip-prefix', '/'],
    ]) {
      const before = api.seen.length;
      const r = await send(client.ports.outbound, { host: 'api:8080', path: asked });
      assert.equal(r.status, 200, r.body);
      assert.equal(api.seen[before]?.url, seen, asked);
    }
  });

  it('the share of a backendRef that does not resolve is answered 500 (1:1 of 400 requests, within 10 points)', async () => {
    const replies = await inParallel(400, 20, () =>
      send(client.ports.outbound, { host: 'api:8080', path: '/half', agent }),
    );
    const got = tally(replies.map((r) => String(r.status)));
    console.log(`      400 requests: ${JSON.stringify(got)}`);
    assert.equal((got['200'] ?? 0) + (got['500'] ?? 0), 400);
    assert.ok(Math.abs(((got['500'] ?? 0) * 100) / 400 - 50) <= 10, JSON.stringify(got));
  });

  it('PathPrefix matches whole segments: `/oldies` is not redirected', async () => {
    const r = await send(client.ports.outbound, { host: 'api:8080', path: '/oldies' });
    assert.equal(r.status, 200);
    assert.equal(api.seen.at(-1)?.url, '/oldies');
  });
});

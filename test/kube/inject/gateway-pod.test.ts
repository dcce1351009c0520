/** The injector never injects a Ferry gateway's pod, however injection is asked for. */
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import {
  ANNOTATIONS,
  injectionDecision,
  injectionTemplate,
  injectManifest,
} from '../../../src/kube/inject/index.js';

const gatewayPod = (extra: Record<string, string> = {}) => ({
  metadata: { labels: { [ANNOTATIONS.gateway]: 'edge.public', ...extra } },
  spec: { containers: [{ name: 'gateway', image: 'ghcr.io/ferry-mesh/ferry:dev' }] },
});

describe('injection of a gateway pod', () => {
  it('is refused by the webhook even with an opt-in label and an opted-in namespace', () => {
    const d = injectionDecision(gatewayPod({ [ANNOTATIONS.inject]: 'true' }), {
      mode: 'webhook',
      namespaceLabels: { 'ferry-injection': 'enabled' },
      namespace: 'edge',
    });
    assert.equal(d.inject, false);
    assert.match(d.inject ? '' : d.reason, /ferry\.io\/gateway/);
  });

  it('is refused offline (ferry inject), where every other workload is injected', () => {
    assert.equal(injectionDecision(gatewayPod(), { mode: 'offline' }).inject, false);
    const plain = { ...gatewayPod(), metadata: { labels: { app: 'web' } } };
    assert.equal(injectionDecision(plain, { mode: 'offline' }).inject, true);
  });

  it('ferry inject leaves a gateway Deployment as it is', () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: { name: public, namespace: edge }
spec:
  selector: { matchLabels: { app: public } }
  template:
    metadata:
      labels: { app: public, ferry.io/gateway: edge.public }
    spec:
      containers: [{ name: gateway, image: ghcr.io/ferry-mesh/ferry:dev }]
`;
    const out = injectManifest(yaml, injectionTemplate());
    assert.equal(out.objects[0]?.injected, false);
    const containers = (
      parseAllDocuments(out.yaml)[0].toJS() as {
        spec: { template: { spec: { containers: { name: string }[] } } };
      }
    ).spec.template.spec.containers;
    assert.deepEqual(
      containers.map((c) => c.name),
      ['gateway'],
    );
  });
});

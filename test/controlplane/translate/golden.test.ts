import {
  checkConsistency,
  mergeResources,
  translateMesh,
  translateWorkload,
} from '../../../src/controlplane/translate/index.js';
import { expectGolden } from './golden.js';
import { FIXTURE_MESH, workload } from './mesh-fixture.js';

describe('translate: golden files', () => {
  it('translateMesh of the fixture mesh', () => {
    const t = translateMesh(FIXTURE_MESH, ['tools']);
    expectGolden('mesh.golden.json', t);
  });

  it('translateWorkload of a gRPC sidecar with an app port', () => {
    const t = translateWorkload(FIXTURE_MESH, workload({ appPort: 50052 }));
    expectGolden('workload-echo.golden.json', t);
  });

  it('translateWorkload of a workload whose service the config does not declare', () => {
    const t = translateWorkload(
      FIXTURE_MESH,
      workload({ service: 'ghost', namespace: 'tools', appPort: 7000, servicePort: 80 }),
    );
    expectGolden('workload-undeclared.golden.json', t);
  });

  it('translateWorkload of a TCP-only service', () => {
    const t = translateWorkload(
      FIXTURE_MESH,
      workload({ service: 'db', namespace: 'data', appPort: 5433, inboundPort: 16006 }),
    );
    expectGolden('workload-tcp.golden.json', t);
  });

  it('the golden sets are consistent, alone and merged', () => {
    const shared = translateMesh(FIXTURE_MESH, ['tools']).resources;
    const errors = [
      ...checkConsistency(shared),
      ...checkConsistency(
        mergeResources(
          shared,
          translateWorkload(FIXTURE_MESH, workload({ appPort: 50052 })).resources,
        ),
      ),
      ...checkConsistency(
        mergeResources(
          shared,
          translateWorkload(
            FIXTURE_MESH,
            workload({ service: 'ghost', namespace: 'tools', appPort: 7000 }),
          ).resources,
        ),
      ),
    ];
    if (errors.length) throw new Error(errors.join('\n'));
  });

  it('is deterministic whatever the order of services and endpoints', () => {
    const reversed = {
      ...FIXTURE_MESH,
      services: [...FIXTURE_MESH.services]
        .reverse()
        .map((s) => ({ ...s, endpoints: [...s.endpoints].reverse() })),
    };
    expectGolden('mesh.golden.json', translateMesh(reversed, ['tools']));
  });
});

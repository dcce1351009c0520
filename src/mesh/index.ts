/** The mesh file: parsing, validation, loading and watching. The model is the contract. */

export {
  type AnalysisResult,
  analyzeMesh,
  type Finding,
  formatFinding,
  type LiveView,
  MESSAGES,
} from './analyze/index.js';
export { DURATION_PATTERN, parseDuration } from './duration.js';
export { loadMeshFile } from './load-mesh-file.js';
export { describeMeshChange } from './mesh-change.js';
export {
  formatMeshError,
  type MeshError,
  MeshFileError,
} from './mesh-error.js';
export { MESH_SCHEMA } from './mesh-schema.js';
export * from './model.js';
export { DEFAULT_RETRY_ON } from './normalize-retries.js';
export { parseMesh } from './parse-mesh.js';
export {
  type MeshFileWatch,
  watchMeshFile,
} from './watch-mesh-file.js';
export { watchPoints } from './watch-points.js';
export { DEFAULT_CLUSTER_NAME, workloadNames } from './workload-names.js';

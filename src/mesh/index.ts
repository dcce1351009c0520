/** The mesh file: parsing, validation, loading and watching. The model is the contract. */

export {
  type AnalysisResult,
  analyzeMesh,
  type Finding,
  formatFinding,
  type LiveView,
  MESSAGES,
  type Severity,
} from './analyze/index.js';
export { DURATION_PATTERN, parseDuration } from './duration.js';
export { loadMeshFile, type ReadMeshResult, readMeshFile } from './load-mesh-file.js';
export { describeMeshChange } from './mesh-change.js';
export {
  formatMeshError,
  type MeshError,
  type MeshErrorCode,
  MeshFileError,
} from './mesh-error.js';
export { MESH_SCHEMA } from './mesh-schema.js';
export * from './model.js';
export { DEFAULT_RETRIABLE_STATUS_CODES, DEFAULT_RETRY_ON } from './normalize-retries.js';
export { type ParseMeshResult, parseMesh } from './parse-mesh.js';
export {
  type MeshFileHandlers,
  type MeshFileWatch,
  type WatchMeshFileOptions,
  watchMeshFile,
} from './watch-mesh-file.js';
export { type WatchPoints, watchPoints } from './watch-points.js';
export { DEFAULT_CLUSTER_NAME, type WorkloadNames, workloadNames } from './workload-names.js';

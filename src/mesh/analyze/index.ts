/** `ferry analyze`: the mesh file's semantic problems, each with a stable code and a fix. */
export {
  type AnalysisResult,
  analyzeMesh,
  type LiveView,
} from './analyze-mesh.js';
export { MESSAGES } from './codes.js';
export { type Finding, formatFinding } from './finding.js';

/** Regular expressions with RE2 semantics (linear time), for every pattern the mesh runs. */
export { compileRe2, type Re2Regex, type Re2Result } from './re2.js';

/**
 * Build step (`npm run build`): writes the Envoy proto descriptor next to protos.js, so
 * processes load the types from JSON instead of parsing .proto files (see protos.ts).
 */
import { writeFileSync } from 'node:fs';
import { DESCRIPTOR_URL, envoyDescriptor } from './protos.js';

writeFileSync(DESCRIPTOR_URL, envoyDescriptor());

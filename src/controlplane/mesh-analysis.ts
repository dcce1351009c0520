/**
 * The control plane's side of `ferry analyze`: the mesh file analyzed with what only the
 * running mesh knows (endpoints now, proxyless clients and what they call), served on
 * /debug/analyze, and the file-only findings logged at every load.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log/index.js';
import {
  type AnalysisResult,
  analyzeMesh,
  formatFinding,
  type LiveView,
  type Service,
} from '../mesh/index.js';
import type { AdsServer } from './ads-server.js';
import type { Registry } from './registry.js';

/** What the registry and the ADS streams know now. */
export function liveView(registry: Registry, ads: AdsServer): LiveView {
  const view = registry.view();
  const endpoints = new Map(
    view.services.map((s) => [`${s.name}.${s.namespace}`, s.endpoints.length]),
  );
  // Proxyless clients announce no workload and subscribe to listeners by target name
  // (xds:///NAME:PORT asks LDS for NAME:PORT).
  const proxyless = ads
    .status()
    .filter((s) => s.workload === undefined)
    .flatMap((s) => s.types.filter((t) => t.type === 'LDS').flatMap((t) => t.names));
  return {
    endpointCount: (s: Service) => endpoints.get(`${s.name}.${s.namespace}`) ?? 0,
    proxylessCallers: (s: Service) =>
      [...new Set(proxyless.filter((name) => namesService(name, s)))].map((n) => `xds:///${n}`),
  };
}

/** Whether a listener name (host or host:port) is the service's. */
function namesService(name: string, s: Service): boolean {
  const host = name.replace(/:\d+$/, '');
  return (
    host === s.name ||
    host === `${s.name}.${s.namespace}` ||
    host.startsWith(`${s.name}.${s.namespace}.`)
  );
}

export interface RunningAnalysis extends AnalysisResult {
  readonly file: string;
}

/** Analyzes the mesh file as it is on disk now, with the live view. */
export async function analyzeRunning(
  file: string,
  registry: Registry,
  ads: AdsServer,
): Promise<RunningAnalysis> {
  const text = await readFile(file, 'utf8');
  return { file, ...analyzeMesh(text, file, liveView(registry, ads)) };
}

/** Logs what the file alone shows (at load the sidecars have not connected yet). */
export async function logAnalysis(file: string, log: Logger): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return;
  }
  const result = analyzeMesh(text, file);
  if (!result.valid) return; // The loader reports invalid files itself.
  for (const f of result.findings) {
    log.warn(
      { code: f.code, file: f.file, line: f.line, column: f.column, field: f.field },
      formatFinding(f).split('\n')[0] ?? f.message,
    );
  }
}

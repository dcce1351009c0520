/**
 * How a sidecar process is best started, for whatever starts one (the injector's pod
 * template, the local demo, the benchmark); both are read before any JavaScript runs, so
 * the process cannot set them for itself.
 * - NODE_OPTIONS=--max-semi-space-size=2: a sidecar's garbage is short-lived and small; V8's
 *   default young generation grows to tens of MiB under load (peak RSS 84 to 94 MiB at
 *   saturation), 2 MiB semi-spaces keep it near its idle memory (about 74 MiB) at no
 *   measurable cost in CPU on plain HTTP. (1 MiB saves 2 or 3 MiB more but costs about 10%
 *   more CPU with mutual TLS, whose buffers make more garbage.)
 * - MALLOC_ARENA_MAX=2: glibc's malloc gives each thread that allocates under contention an
 *   arena of its own; a sidecar's threads (the event loop, V8's GC and compiler helpers)
 *   need two at most, and more keep pages they no longer use.
 */
export const SIDECAR_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_OPTIONS: '--max-semi-space-size=2',
  MALLOC_ARENA_MAX: '2',
});

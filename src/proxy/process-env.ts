/**
 * How a sidecar process is best started, for whatever starts one (the injector's pod
 * template, the local demo, the benchmark). glibc's malloc gives each thread that
 * allocates under contention an arena of its own; a sidecar's threads (the event loop and
 * V8's GC and compiler helpers) need two at most, and with more its peak memory under load
 * is about 5 MiB higher, in pages those arenas keep. It is set at process start or not at
 * all: malloc reads it before any JavaScript runs.
 */
export const SIDECAR_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: '2',
});

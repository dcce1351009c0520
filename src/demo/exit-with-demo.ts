/**
 * Preloaded (`node --import`) into every process the demo starts. The demo starts them
 * detached, so that Ctrl-C reaches the demo alone and it can stop them in order; the price
 * is that they would outlive a demo that is killed outright (SIGKILL, a crash). Each has
 * an IPC channel to the demo, which the OS closes when the demo goes, however it goes: on
 * that, the process sends itself SIGTERM and shuts down the way it always does (a sidecar
 * drains).
 */
if (process.send) {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

export {};

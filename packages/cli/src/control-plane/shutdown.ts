/**
 * Resolves when the process should stop: when `signal` aborts (in-process use), or on SIGTERM or
 * SIGINT. After the signal, a watchdog ends the process if graceful shutdown hangs for
 * `forceAfterMs` (never in-process, where `signal` is given).
 *
 * @internal
 */
export function waitForShutdown(signal?: AbortSignal, forceAfterMs = 15_000): Promise<void> {
  if (signal) {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      const watchdog = setTimeout(() => process.exit(0), forceAfterMs);
      watchdog.unref();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

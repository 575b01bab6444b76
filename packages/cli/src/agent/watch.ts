import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Watches one file for changes: `fs.watch` on its directory (so atomic replacements by rename
 * are seen, not only in-place writes), debounced, plus a periodic check that catches what
 * `fs.watch` misses (in-place edits on some file systems, network mounts). `onChange` is called
 * at most once at a time; a change that arrives meanwhile triggers one more call.
 *
 * @internal
 */
export function watchFile(options: {
  readonly path: string;
  readonly intervalMs: number;
  readonly debounceMs?: number;
  readonly onChange: (reason: 'watch' | 'interval') => Promise<void>;
  readonly onError?: (error: unknown) => void;
}): { close(): void } {
  const name = basename(options.path);
  const debounceMs = options.debounceMs ?? 50;
  let running = false;
  let again: 'watch' | 'interval' | undefined;
  let closed = false;
  let debounce: NodeJS.Timeout | undefined;
  const run = (reason: 'watch' | 'interval'): void => {
    if (closed) return;
    if (running) {
      again = again === 'watch' ? 'watch' : reason;
      return;
    }
    running = true;
    options
      .onChange(reason)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = false;
        const next = again;
        again = undefined;
        if (next !== undefined) run(next);
      });
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(options.path), { persistent: false }, (_event, file) => {
      if (file !== null && file.toString() !== name) return;
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => run('watch'), debounceMs);
    });
    watcher.on('error', (error) => options.onError?.(error));
  } catch (error) {
    // No fs.watch here (some containers): the periodic check still runs.
    options.onError?.(error);
  }
  const timer = setInterval(() => run('interval'), options.intervalMs);
  return {
    close() {
      closed = true;
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
    },
  };
}

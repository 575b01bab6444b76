import type { CliWritable } from './io.js';

/** Files a tree must have before a progress bar is worth showing. @internal */
export const PROGRESS_MIN_FILES = 2000;

/**
 * A one-line progress bar on a terminal (stderr), redrawn at most every 100 ms and erased when
 * done. It draws nothing unless the stream is a TTY and the work is large enough.
 *
 * @internal
 */
export class ProgressBar {
  readonly #out: CliWritable;
  readonly #enabled: boolean;
  #last = Number.NEGATIVE_INFINITY;
  #drawn = false;

  constructor(out: CliWritable, options: { readonly now?: () => number } = {}) {
    this.#out = out;
    this.#enabled = out.isTTY === true;
    this.#now = options.now ?? Date.now;
  }

  readonly #now: () => number;

  /** Updates the bar: `done` of `total` items (total 0 while still counting), `bytes` processed. */
  update(label: string, done: number, total: number, bytes: number): void {
    if (!this.#enabled || Math.max(done, total) < PROGRESS_MIN_FILES) return;
    const now = this.#now();
    if (now - this.#last < 100 && done !== total) return;
    this.#last = now;
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const bar = total > 0 ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
    const count =
      total > 0
        ? `${done.toLocaleString('en')}/${total.toLocaleString('en')}`
        : done.toLocaleString('en');
    this.#out.write(`\r\u001b[K${label} ${bar}${count} files ${formatBytes(bytes)}`.trimEnd());
    this.#drawn = true;
  }

  /** Erases the bar. */
  done(): void {
    if (this.#drawn) this.#out.write('\r\u001b[K');
    this.#drawn = false;
  }
}

function formatBytes(bytes: number): string {
  if (bytes === 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

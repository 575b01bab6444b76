import type { CliWritable } from './io.js';

/** Files a tree must have before a progress bar is worth showing. @internal */
export const PROGRESS_MIN_FILES = 2000;

/** Bytes that make a progress bar worth showing even for a few files (large payloads). @internal */
export const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;

/**
 * A one-line progress bar on a terminal (stderr), redrawn at most every 100 ms and erased when
 * done. It draws nothing unless the stream is a TTY; counts only once the work is large enough
 * (2,000 files or 64 MiB), steps (`phase`) at once with their elapsed seconds.
 *
 * @internal
 */
export class ProgressBar {
  readonly #out: CliWritable;
  readonly #enabled: boolean;
  #last = Number.NEGATIVE_INFINITY;
  #drawn = false;

  #ticker: ReturnType<typeof setInterval> | undefined;

  constructor(out: CliWritable, options: { readonly now?: () => number } = {}) {
    this.#out = out;
    this.#enabled = out.isTTY === true;
    this.#now = options.now ?? Date.now;
  }

  readonly #now: () => number;

  /**
   * Whether the bar draws at all (stderr is a TTY). Callers pass a progress callback only then:
   * reporting progress nobody sees still costs the work it reports on.
   */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Shows a step without counts (`sealing out/a.plb`) with the seconds it has taken so far,
   * redrawn every second until the next `phase`, `update` or `done`. Nothing unless a TTY.
   */
  phase(label: string): void {
    if (!this.#enabled) return;
    this.#stopTicker();
    const started = this.#now();
    const draw = (): void => {
      const seconds = Math.floor((this.#now() - started) / 1000);
      this.#out.write(`\r\u001b[K${label} …${seconds > 0 ? ` ${seconds}s` : ''}`);
      this.#drawn = true;
    };
    draw();
    this.#ticker = setInterval(draw, 1000);
    this.#ticker.unref?.();
  }

  #stopTicker(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** Updates the bar: `done` of `total` items (total 0 while still counting), `bytes` processed. */
  update(label: string, done: number, total: number, bytes: number): void {
    if (!this.#enabled) return;
    if (Math.max(done, total) < PROGRESS_MIN_FILES && bytes < PROGRESS_MIN_BYTES) return;
    this.#stopTicker();
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
    this.#stopTicker();
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

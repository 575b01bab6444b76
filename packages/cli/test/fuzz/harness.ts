import fc from 'fast-check';
import { PlumblineError } from '@plumbline/core';

/** The seed of every fuzz target (set PLUMBLINE_FUZZ_SEED to explore others). */
export const FUZZ_SEED = Number(process.env['PLUMBLINE_FUZZ_SEED'] ?? 20_261_207);

/** What one fuzz target saw. Every count but `coded` and `accepted` must be 0. */
export interface FuzzReport {
  readonly target: string;
  readonly runs: number;
  /** Inputs refused with a coded PlumblineError. */
  readonly coded: number;
  /** How many inputs each code refused. */
  readonly codes: Readonly<Record<string, number>>;
  /** Inputs accepted (or answered) without an error. */
  readonly accepted: number;
  /** Errors that were not coded PlumblineErrors (first few kept, for the failure message). */
  readonly uncoded: number;
  readonly uncodedSamples: readonly string[];
  /** Inputs whose handling did not finish within `caseTimeoutMs`. */
  readonly hangs: number;
  /** Inputs after which the heap had grown more than `maxHeapGrowthBytes` over the start. */
  readonly overMemory: number;
}

/** Bounds of one fuzz target. */
export interface FuzzOptions {
  /** Most inputs tried. Default 200. */
  readonly runs?: number;
  /** Stop trying new inputs after this long (the suite must fit a 2-core CI box). Default 4 000 ms. */
  readonly budgetMs?: number;
  /** One input taking longer than this is a hang. Default 2 000 ms. */
  readonly caseTimeoutMs?: number;
  /** Heap growth over the start that counts as over the memory limit. Default 256 MiB. */
  readonly maxHeapGrowthBytes?: number;
}

const HANG = Symbol('hang');

/**
 * Feeds seeded inputs from `arbitrary` to `target` and counts what happened: coded refusals,
 * acceptances, non-coded errors, hangs and over-limit memory. Inputs come from a fixed seed, so a
 * failure reproduces; time and count are both bounded.
 */
export async function fuzz<T>(
  target: string,
  arbitrary: fc.Arbitrary<T>,
  run: (input: T) => unknown,
  options: FuzzOptions = {},
): Promise<FuzzReport> {
  const runs = options.runs ?? 200;
  const budget = options.budgetMs ?? 4_000;
  const caseTimeout = options.caseTimeoutMs ?? 2_000;
  const maxGrowth = options.maxHeapGrowthBytes ?? 256 * 1024 * 1024;
  const inputs = fc.sample(arbitrary, { seed: FUZZ_SEED, numRuns: runs });
  const started = performance.now();
  const heapStart = process.memoryUsage().heapUsed;
  let coded = 0;
  let accepted = 0;
  let uncoded = 0;
  let hangs = 0;
  let overMemory = 0;
  let done = 0;
  const samples: string[] = [];
  const codes: Record<string, number> = {};
  for (const input of inputs) {
    if (performance.now() - started > budget) break;
    done++;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.resolve()
        .then(() => run(input))
        .then(
          () => 'accepted' as const,
          (error: unknown) => error,
        ),
      new Promise<typeof HANG>((resolve) => {
        timer = setTimeout(() => resolve(HANG), caseTimeout);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'accepted') accepted++;
    else if (outcome === HANG) hangs++;
    else if (PlumblineError.is(outcome)) {
      coded++;
      codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
    } else {
      uncoded++;
      if (samples.length < 3) samples.push(String((outcome as Error)?.stack ?? outcome));
    }
    if (process.memoryUsage().heapUsed - heapStart > maxGrowth) overMemory++;
  }
  return {
    target,
    runs: done,
    coded,
    codes,
    accepted,
    uncoded,
    uncodedSamples: samples,
    hangs,
    overMemory,
  };
}

const order = (a: number, b: number): [number, number] => (a < b ? [a, b] : [b, a]);

/**
 * Mutations of a valid input, as a mutation fuzzer makes them: bit flips, byte overwrites,
 * truncations, insertions, a duplicated or deleted slice, or a length-like byte set to 0xff.
 */
export function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: Math.max(0, seed.length - 1) });
  const one: fc.Arbitrary<(b: Uint8Array) => Uint8Array> = fc.oneof(
    fc.tuple(at, fc.integer({ min: 0, max: 7 })).map(([i, bit]) => (b: Uint8Array) => {
      const c = b.slice();
      if (c.length > 0) c[i % c.length]! ^= 1 << bit;
      return c;
    }),
    fc
      .tuple(at, fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x1b, 0x0a, 0x5b))
      .map(([i, v]) => (b: Uint8Array) => {
        const c = b.slice();
        if (c.length > 0) c[i % c.length] = v;
        return c;
      }),
    at.map((i) => (b: Uint8Array) => b.slice(0, i % (b.length + 1))),
    fc
      .tuple(at, fc.uint8Array({ minLength: 1, maxLength: 16 }))
      .map(([i, extra]) => (b: Uint8Array) => {
        const p = i % (b.length + 1);
        const c = new Uint8Array(b.length + extra.length);
        c.set(b.subarray(0, p));
        c.set(extra, p);
        c.set(b.subarray(p), p + extra.length);
        return c;
      }),
    fc.tuple(at, at).map(([i, j]) => (b: Uint8Array) => {
      const [lo, hi] = order(i % (b.length + 1), j % (b.length + 1));
      const c = new Uint8Array(b.length + hi - lo);
      c.set(b.subarray(0, hi));
      c.set(b.subarray(lo, hi), hi);
      c.set(b.subarray(hi), hi + hi - lo);
      return c;
    }),
    fc.tuple(at, at).map(([i, j]) => (b: Uint8Array) => {
      const [lo, hi] = order(i % (b.length + 1), j % (b.length + 1));
      const c = new Uint8Array(b.length - (hi - lo));
      c.set(b.subarray(0, lo));
      c.set(b.subarray(hi), lo);
      return c;
    }),
  );
  return fc
    .array(one, { minLength: 1, maxLength: 4 })
    .map((ops) => ops.reduce((b, op) => op(b), seed));
}

/** Mutations of a valid text (as UTF-8 bytes, decoded leniently). */
export function mutatedText(seed: string): fc.Arbitrary<string> {
  return mutated(new TextEncoder().encode(seed)).map((b) => new TextDecoder().decode(b));
}

/** A compact line for the report table, printed once per target. */
export function describeReport(r: FuzzReport): string {
  const top = Object.entries(r.codes)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return `${r.target}: ${r.runs} inputs, ${r.coded} coded (${top}), ${r.accepted} accepted, ${r.uncoded} uncoded, ${r.hangs} hangs, ${r.overMemory} over memory`;
}

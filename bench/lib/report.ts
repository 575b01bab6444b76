/**
 * Benchmark reporting: every figure is printed next to a baseline measured in the same run,
 * with the ratio between them, and collected for docs/benchmarks.md.
 */
export interface Figure {
  /** What was measured, e.g. "manifest 8 x 256 MiB". */
  name: string;
  /** Our value. */
  value: number;
  /** Unit, e.g. "MiB/s", "ops/s", "ms", "MiB". */
  unit: string;
  /** The baseline measured in the same run, when there is one. */
  baseline?: { name: string; value: number };
  /** Whether a larger value is better (throughput) or worse (latency, memory). */
  higherIsBetter: boolean;
  /** A target, as text, e.g. ">= 85% of baseline". */
  target?: string;
  /** Whether the target was met, when there is one. */
  met?: boolean;
}

const figures: Figure[] = [];

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

/** Records and prints one figure. */
export function report(figure: Figure): void {
  figures.push(figure);
  const base = figure.baseline;
  const ratio = base && base.value !== 0 ? figure.value / base.value : undefined;
  const parts = [`${figure.name}: ${fmt(figure.value)} ${figure.unit}`];
  if (base) parts.push(`baseline ${base.name}: ${fmt(base.value)} ${figure.unit}`);
  if (ratio !== undefined) parts.push(`ratio ${ratio.toFixed(2)}`);
  if (figure.target)
    parts.push(
      `target ${figure.target}${figure.met === undefined ? '' : figure.met ? ' (met)' : ' (NOT met)'}`,
    );
  console.log(`  ${parts.join(' | ')}`);
}

/** All figures recorded so far (for a Markdown table). */
export function recorded(): readonly Figure[] {
  return figures;
}

/** Formats the recorded figures as a Markdown table. */
export function markdownTable(rows: readonly Figure[] = figures): string {
  const lines = ['| figure | ours | baseline | ratio | target |', '|---|---|---|---|---|'];
  for (const f of rows) {
    const ratio =
      f.baseline && f.baseline.value !== 0 ? (f.value / f.baseline.value).toFixed(2) : '';
    const base = f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}` : '';
    const target = f.target ? `${f.target}${f.met === undefined ? '' : f.met ? ' ✔' : ' ✘'}` : '';
    lines.push(`| ${f.name} | ${fmt(f.value)} ${f.unit} | ${base} | ${ratio} | ${target} |`);
  }
  return lines.join('\n');
}

/** Median of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile (0..1) of numbers. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

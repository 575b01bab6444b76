/**
 * Manifest benchmarks (issue 3): large files against single-stream node:crypto and sha256sum, many
 * small files against `find … -print0 | xargs -0 sha256sum`, and peak RSS while hashing a large
 * tree (measured in a child process). Sizes scale with environment variables:
 *   PLB_BENCH_LARGE_FILES (default 8), PLB_BENCH_LARGE_MIB (default 256),
 *   PLB_BENCH_SMALL_FILES (default 20000), PLB_BENCH_RUNS (default 3).
 * Data goes to .bench-data/manifest (deleted afterwards).
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildManifest } from '@plumbline/core/node';
import { median, report } from './lib/report.js';

const root = fileURLToPath(new URL('../.bench-data/manifest/', import.meta.url));
const int = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isSafeInteger(v) && v > 0 ? v : fallback;
};
const LARGE_FILES = int('PLB_BENCH_LARGE_FILES', 8);
const LARGE_MIB = int('PLB_BENCH_LARGE_MIB', 256);
const SMALL_FILES = int('PLB_BENCH_SMALL_FILES', 20_000);
const RUNS = int('PLB_BENCH_RUNS', 3);
const MiB = 1024 * 1024;

function writeLargeTree(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const chunk = new Uint8Array(8 * MiB);
  const files: string[] = [];
  for (let i = 0; i < LARGE_FILES; i++) {
    const file = join(dir, `layer-${i}.bin`);
    const fd = openSync(file, 'w');
    for (let written = 0; written < LARGE_MIB * MiB; written += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, LARGE_MIB * MiB - written));
    }
    closeSync(fd);
    files.push(file);
  }
  return files;
}

function writeSmallTree(dir: string): void {
  const content = new Uint8Array(4096);
  for (let i = 0; i < SMALL_FILES; i++) {
    const sub = join(dir, `d${i % 20}`, `e${Math.floor(i / 20) % 20}`);
    if (i < 400) mkdirSync(sub, { recursive: true });
    randomFillSync(content, 0, 16);
    writeFileSync(join(sub, `f${i}.yaml`), content);
  }
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function best(fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timed(fn));
  return median(times);
}

function streamHash(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Peak RSS (MiB) of a child process that builds the manifest of `dir` (or does nothing). */
function childPeakRss(dir: string | undefined): number {
  const script = `
    const { buildManifest } = await import('@plumbline/core/node');
    ${dir === undefined ? '' : `await buildManifest([${JSON.stringify(dir)}]);`}
    process.stdout.write(String(process.resourceUsage().maxRSS));
  `;
  const result = spawnSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', script],
    {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(result.stderr);
  return Number(result.stdout.trim()) / 1024;
}

export async function run(): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  try {
    // Large files.
    const largeDir = join(root, 'large');
    const files = writeLargeTree(largeDir);
    const totalMiB = LARGE_FILES * LARGE_MIB;
    console.log(
      `  data: ${LARGE_FILES} x ${LARGE_MIB} MiB = ${totalMiB} MiB (page cache warm), ${RUNS} runs, median`,
    );
    await buildManifest([largeDir]); // warm the page cache
    const ours = await best(() => buildManifest([largeDir]));
    const raw = await best(async () => {
      for (const file of files) await streamHash(file);
    });
    const sum = await best(() => execFileSync('sha256sum', files, { maxBuffer: 1 << 20 }));
    report({
      name: `manifest ${LARGE_FILES} x ${LARGE_MIB} MiB`,
      value: totalMiB / ours,
      unit: 'MiB/s',
      baseline: { name: 'single-stream node:crypto', value: totalMiB / raw },
      higherIsBetter: true,
      target: '>= 0.85 x baseline',
      met: raw / ours >= 0.85,
    });
    report({
      name: `manifest ${LARGE_FILES} x ${LARGE_MIB} MiB`,
      value: totalMiB / ours,
      unit: 'MiB/s',
      baseline: { name: 'sha256sum', value: totalMiB / sum },
      higherIsBetter: true,
      target: '> sha256sum',
      met: ours < sum,
    });

    // Peak RSS while hashing the large tree, in a fresh process.
    const idle = childPeakRss(undefined);
    const peak = childPeakRss(largeDir);
    report({
      name: `peak RSS hashing ${totalMiB} MiB`,
      value: peak,
      unit: 'MiB',
      baseline: { name: 'same process, no work', value: idle },
      higherIsBetter: false,
      target: '< 150 MiB',
      met: peak < 150,
    });
    rmSync(largeDir, { recursive: true, force: true });

    // Many small files.
    const smallDir = join(root, 'small');
    writeSmallTree(smallDir);
    console.log(`  data: ${SMALL_FILES} x 4 KiB in 400 nested directories`);
    const count = (await readdir(smallDir, { recursive: true })).length;
    if (count < SMALL_FILES) throw new Error('small tree incomplete');
    await buildManifest([smallDir]);
    const oursSmall = await best(() => buildManifest([smallDir]));
    const xargs = await best(() =>
      execFileSync('sh', [
        '-c',
        `find "$1" -type f -print0 | xargs -0 sha256sum > /dev/null`,
        'sh',
        smallDir,
      ]),
    );
    report({
      name: `manifest ${SMALL_FILES} x 4 KiB`,
      value: SMALL_FILES / oursSmall,
      unit: 'files/s',
      baseline: { name: 'find | xargs -0 sha256sum', value: SMALL_FILES / xargs },
      higherIsBetter: true,
      target: '> baseline',
      met: oursSmall < xargs,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

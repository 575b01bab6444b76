/**
 * Barbacane `.bca`: readBca (stream, inflate, walk the tar strictly, hash every member) on an
 * artifact with one large plugin, against the least any reader does (inflate the same file and
 * SHA-256 the tar stream); checking an embedded seal (loadBcaAsArtifact, which also inflates the
 * copy once more to bind the tar stream before the header member) against readBca of the same file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { loadBcaAsArtifact, readBca, sealBca } from '@plumbline/barbacane';
import { releaseBca, sampleInputs } from '@plumbline/testkit/barbacane';
import { median, report } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '..', '.bench-data', 'barbacane');
const MiB = 1024 * 1024;
const PLUGIN_BYTES = Number(process.env['BCA_BENCH_MIB'] ?? 64) * MiB;

async function inflateAndHash(file: string): Promise<void> {
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(file)
      .pipe(createGunzip({ chunkSize: 64 * 1024 }))
      .on('data', (chunk: Buffer) => hash.update(chunk))
      .on('end', resolve)
      .on('error', reject);
  });
  hash.digest();
}

async function time(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

export async function run(): Promise<void> {
  await mkdir(DATA, { recursive: true });
  const file = join(DATA, 'gateway.bca');
  const base = sampleInputs();
  const plugin = { ...base.plugins[0]!, name: 'big', wasm: randomBytes(PLUGIN_BYTES) };
  const inputs = { ...base, plugins: [...base.plugins, plugin] };
  await writeFile(file, releaseBca({ artifactVersion: 4, compilerVersion: '0.8.1' }, inputs));
  const mib = PLUGIN_BYTES / MiB;

  const raw = await time(() => inflateAndHash(file));
  const read = await time(() => readBca(file, { limits: { maxEntryBytes: PLUGIN_BYTES * 2 } }));
  report({
    name: `readBca ${mib} MiB plugin`,
    value: mib / (read / 1000),
    unit: 'MiB/s',
    baseline: { name: 'gunzip + SHA-256 of the tar stream', value: mib / (raw / 1000) },
    higherIsBetter: true,
    target: '>= 50% of baseline',
    met: read <= raw * 2,
  });

  const { output } = await sealBca(file, {
    mode: 'embed',
    sourceDateEpoch: null,
    read: { limits: { maxEntryBytes: PLUGIN_BYTES * 2 } },
  });
  const limits = { maxEntryBytes: PLUGIN_BYTES * 2 };
  const readSealed = await time(() => readBca(output, { limits }));
  const check = await time(() => loadBcaAsArtifact(output, { limits }));
  report({
    name: `check an embedded seal, ${mib} MiB plugin`,
    value: check,
    unit: 'ms',
    baseline: { name: 'readBca of the same file', value: readSealed },
    higherIsBetter: false,
  });
  await rm(DATA, { recursive: true, force: true });
}

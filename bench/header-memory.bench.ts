/**
 * Peak memory of reading a header (readHeader from a file, as `plumbline verify` starts), measured
 * in a child process whose peak counter is reset right before reading, next to the header's size:
 * the ratio is the multiple docs/formats.md promises to stay under (10 × the size + 24 MiB).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EMPTY_ATTACHMENTS, encodePrefix } from '@plumbline/core/container';
import { createHeader, encodeHeader } from '@plumbline/core/header';
import { manifestFromEntries, type ManifestEntry } from '@plumbline/core/manifest';
import { report } from './lib/report.js';

const run$ = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '..', '.bench-data', 'header-memory');
const CHILD = join(here, '..', 'packages', 'core', 'test', 'header', 'memory-child.ts');
const MiB = 1024 * 1024;

function header(n: number): Uint8Array {
  const entries: ManifestEntry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push({
      path: `specs/service-${String(i).padStart(6, '0')}/openapi.yaml`,
      size: 1000 + i,
      digest: `sha256:${createHash('sha256').update(String(i)).digest('hex')}`,
      role: 'spec',
      media_type: 'application/yaml',
    });
  }
  return encodeHeader(
    createHeader({
      manifest: manifestFromEntries(entries),
      payload: { digest: `sha256:${'c'.repeat(64)}`, size: 1 },
      provenance: { builder: { id: 'bench', version: '1' } },
      sourceDateEpoch: '0',
    }),
  );
}

async function peak(name: string, bytes: Uint8Array): Promise<{ code: string; growth: number }> {
  const path = join(DATA, `${name}.plb`);
  await writeFile(path, encodePrefix(bytes, EMPTY_ATTACHMENTS));
  const { stdout } = await run$(process.execPath, [
    '--expose-gc',
    '--conditions=@plumbline/source',
    '--import',
    'tsx',
    CHILD,
    path,
  ]);
  const r = JSON.parse(stdout) as {
    code: string;
    before: number;
    peakBefore: number;
    peak: number;
  };
  return { code: r.code, growth: r.peak - Math.max(r.before, r.peakBefore) };
}

export async function run(): Promise<void> {
  await mkdir(DATA, { recursive: true });
  try {
    for (const n of [10_000, 90_000]) {
      const bytes = header(n);
      const { code, growth } = await peak(`inputs-${n}`, bytes);
      report({
        name: `readHeader peak memory, ${n.toLocaleString('en')} inputs (${code})`,
        value: growth / MiB,
        unit: 'MiB',
        baseline: { name: 'header size', value: bytes.length / MiB },
        higherIsBetter: false,
        target: '<= 10x size + 24 MiB, and < 192 MiB',
        met: growth <= 10 * bytes.length + 24 * MiB && growth < 192 * MiB,
      });
    }
  } finally {
    await rm(DATA, { recursive: true, force: true });
  }
}

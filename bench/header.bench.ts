/**
 * Header and container: readHeader on a 2 GiB artifact against the same header on a 1 MiB
 * artifact; sealing a 1 GiB payload file against reading and hashing the same file with raw
 * node:crypto SHA-256 (and the seal's peak RSS, measured in its own process); encoding and
 * decoding a 10,000-entry header against JSON.stringify/JSON.parse of the same header.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodePrefix, EMPTY_ATTACHMENTS } from '@plumbline/core/container';
import { createHeader, decodeHeader, encodeHeader } from '@plumbline/core/header';
import { manifestFromEntries, type ManifestEntry } from '@plumbline/core/manifest';
import { readHeader, sealArtifactFile } from '@plumbline/core/node';
import { median, report } from './lib/report.js';

const run$ = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, '..', '.bench-data', 'header');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SEAL_BYTES = Number(process.env['HEADER_BENCH_SEAL_MIB'] ?? 1024) * MiB;

function entries(n: number): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (let i = 0; i < n; i++) {
    const digest = createHash('sha256').update(String(i)).digest('hex');
    out.push({
      path: `specs/service-${String(i).padStart(5, '0')}/openapi.yaml`,
      size: 1000 + i,
      digest: `sha256:${digest}`,
      role: 'spec',
      media_type: 'application/yaml',
    });
  }
  return out;
}

function header(n: number, payloadSize: number) {
  return createHeader({
    manifest: manifestFromEntries(entries(n)),
    payload: { digest: `sha256:${'c'.repeat(64)}`, size: payloadSize },
    provenance: {
      commit: 'f'.repeat(40),
      source: 'acme/gateway',
      ref: 'refs/heads/main',
      builder: { id: 'bench', version: '1' },
    },
    sourceDateEpoch: '0',
  });
}

/** A container whose payload is a hole (sparse file): its size costs no disk. */
async function sparseArtifact(
  path: string,
  prefix: Uint8Array,
  payloadSize: number,
): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.write(prefix, 0, prefix.length, 0);
    await handle.truncate(prefix.length + payloadSize);
  } finally {
    await handle.close();
  }
}

async function timeReads(path: string, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await readHeader(path);
    times.push(performance.now() - start);
  }
  return median(times);
}

async function rawHash(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(4 * MiB);
  const hash = createHash('sha256');
  const start = performance.now();
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  hash.digest();
  await handle.close();
  return performance.now() - start;
}

export async function run(): Promise<void> {
  await mkdir(DATA, { recursive: true });
  try {
    // 1. readHeader cost does not depend on the payload size.
    const h = header(200, 2 * GiB);
    const prefix = encodePrefix(encodeHeader(h), EMPTY_ATTACHMENTS);
    const small = join(DATA, 'small.plb');
    const large = join(DATA, 'large.plb');
    await sparseArtifact(small, prefix, MiB);
    await sparseArtifact(large, prefix, 2 * GiB);
    await timeReads(small, 20);
    await timeReads(large, 20);
    const tSmall = await timeReads(small, 200);
    const tLarge = await timeReads(large, 200);
    report({
      name: `readHeader, 2 GiB artifact (${prefix.length} B prefix, 200 inputs), median`,
      value: tLarge,
      unit: 'ms',
      baseline: { name: 'same header on a 1 MiB artifact', value: tSmall },
      higherIsBetter: false,
      target: '<= 2x the 1 MiB time',
      met: tLarge <= 2 * tSmall,
    });

    // 2. Sealing a 1 GiB payload against raw node:crypto SHA-256 of the same file.
    const payload = join(DATA, 'payload.bin');
    const chunk = randomBytes(16 * MiB);
    const handle = await open(payload, 'w');
    for (let written = 0; written < SEAL_BYTES; written += chunk.length) {
      await handle.write(chunk, 0, Math.min(chunk.length, SEAL_BYTES - written));
    }
    await handle.close();
    await rawHash(payload); // warm the page cache
    const rawTimes: number[] = [];
    const sealTimes: number[] = [];
    const sealed = join(DATA, 'sealed.plb');
    const manifest = manifestFromEntries(entries(10));
    for (let round = 0; round < 3; round++) {
      rawTimes.push(await rawHash(payload));
      const start = performance.now();
      await sealArtifactFile({
        manifest,
        provenance: { builder: { id: 'bench', version: '1' } },
        sourceDateEpoch: '0',
        payload,
        out: sealed,
      });
      sealTimes.push(performance.now() - start);
      await rm(sealed, { force: true });
    }
    // Peak RSS in a process of its own, so it is the seal's and not this benchmark's.
    const rss: number[] = [];
    const { stdout } = await run$(process.execPath, [
      ...process.execArgv,
      join(here, 'header.seal-child.ts'),
      payload,
      sealed,
    ]);
    rss.push(
      (JSON.parse(stdout.trim().split('\n').pop()!) as { maxRssKiB: number }).maxRssKiB / 1024,
    );
    await rm(sealed, { force: true });
    const mibps = (ms: number): number => SEAL_BYTES / MiB / (ms / 1000);
    const sealRate = mibps(median(sealTimes));
    const rawRate = mibps(median(rawTimes));
    report({
      name: `seal ${SEAL_BYTES / MiB} MiB payload file (read, hash, write), median of 3`,
      value: sealRate,
      unit: 'MiB/s',
      baseline: { name: 'raw node:crypto SHA-256 reading the same file', value: rawRate },
      higherIsBetter: true,
      target: '>= 80% of baseline',
      met: sealRate >= 0.8 * rawRate,
    });
    const peak = Math.max(...rss);
    report({
      name: `seal ${SEAL_BYTES / MiB} MiB payload: peak RSS of a process that only seals`,
      value: peak,
      unit: 'MiB',
      higherIsBetter: false,
      target: '< 150 MiB',
      met: peak < 150,
    });
    await rm(payload, { force: true });

    // 3. Header encode + decode of a 10,000-entry manifest.
    const big = header(10_000, 1234);
    const bytes = encodeHeader(big);
    const json = JSON.stringify(big);
    const rounds = 30;
    const time = (fn: () => void): number => {
      for (let i = 0; i < 3; i++) fn();
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const start = performance.now();
        fn();
        times.push(performance.now() - start);
      }
      return 1000 / median(times);
    };
    const cborOps = time(() => void decodeHeader(encodeHeader(big)));
    const jsonOps = time(() => void JSON.parse(JSON.stringify(big)));
    report({
      name: `header encode+decode, 10,000 entries (CBOR ${bytes.length} B, JSON ${Buffer.byteLength(json)} B)`,
      value: cborOps,
      unit: 'ops/s',
      baseline: { name: 'JSON.stringify + JSON.parse of the same header', value: jsonOps },
      higherIsBetter: true,
    });
    const encOps = time(() => void encodeHeader(big));
    const decOps = time(() => void decodeHeader(bytes));
    report({
      name: 'header encode only, 10,000 entries',
      value: encOps,
      unit: 'ops/s',
      higherIsBetter: true,
    });
    report({
      name: 'header strict decode only, 10,000 entries',
      value: decOps,
      unit: 'ops/s',
      higherIsBetter: true,
    });
    await writeFile(join(DATA, '.done'), '');
  } finally {
    await rm(DATA, { recursive: true, force: true });
  }
}

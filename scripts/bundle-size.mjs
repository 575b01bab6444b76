#!/usr/bin/env node
// Bundles what a browser or edge worker imports for the verify path (and the whole of core, for
// comparison) with esbuild from the sources, and prints raw and gzipped sizes and the largest
// contributors. With --check it fails when a bundle exceeds its budget.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KB = 1024;

/** The bundles measured, each with its gzipped budget in bytes (null: reported only). */
export const BUNDLES = [
  {
    name: 'verify path (readHeader, verifyArtifact, manifests, proofs)',
    budget: 50 * KB,
    source: `
export { readHeader, verifyArtifact, decodeAttachments } from '@plumbline/core/container';
export { decodeHeader, checkHeader } from '@plumbline/core/header';
export { manifestFromEntries, parseManifest, parseEntryProof, verifyEntryProof } from '@plumbline/core/manifest';
export { verifyInclusion, verifyConsistency } from '@plumbline/core/merkle';
`,
  },
  {
    name: 'all of @plumbline/core (runtime-neutral root)',
    budget: null,
    source: `export * from '@plumbline/core';`,
  },
];

function packageOf(path) {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0) return path.replace(/^.*packages\/core\/src\//, 'core/src/').replace(/\/[^/]*$/, '/');
  const parts = path.slice(i + 'node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

export async function measure(bundle) {
  const result = await build({
    stdin: { contents: bundle.source, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['@plumbline/source'],
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const parts = new Map();
  const output = Object.values(result.metafile.outputs)[0];
  for (const [path, info] of Object.entries(output.inputs)) {
    const key = packageOf(path);
    parts.set(key, (parts.get(key) ?? 0) + info.bytesInOutput);
  }
  const top = [...parts].sort((a, b) => b[1] - a[1]).slice(0, 6);
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length, top };
}

const check = process.argv.includes('--check');
let failed = false;
for (const bundle of BUNDLES) {
  const { raw, gzip, top } = await measure(bundle);
  const over = bundle.budget !== null && gzip > bundle.budget;
  failed ||= over;
  const budget =
    bundle.budget === null
      ? ''
      : ` (budget ${(bundle.budget / KB).toFixed(0)} KB gz${over ? ', OVER' : ''})`;
  console.log(
    `${bundle.name}: ${(raw / KB).toFixed(1)} KB min, ${(gzip / KB).toFixed(1)} KB gz${budget}`,
  );
  console.log(
    `  largest (min bytes): ${top.map(([k, v]) => `${k} ${(v / KB).toFixed(1)} KB`).join(', ')}`,
  );
}
if (check && failed) {
  console.error('bundle-size: a bundle exceeds its budget');
  process.exit(1);
}

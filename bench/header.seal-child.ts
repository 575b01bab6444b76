/**
 * Child process of bench/header.bench.ts: seals one payload file with sealArtifactFile and prints
 * the elapsed time and the process's peak RSS as one JSON line (a separate process, so the peak
 * RSS is the seal's own).
 */
import { performance } from 'node:perf_hooks';
import { manifestFromEntries } from '@plumbline/core/manifest';
import { sealArtifactFile } from '@plumbline/core/node';

const [payload, out] = process.argv.slice(2);
const manifest = manifestFromEntries([
  { path: 'config/gateway.yaml', size: 1, digest: `sha256:${'a'.repeat(64)}` },
]);
const start = performance.now();
await sealArtifactFile({
  manifest,
  provenance: { builder: { id: 'bench', version: '1' } },
  sourceDateEpoch: '0',
  payload: payload!,
  out: out!,
});
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS }));

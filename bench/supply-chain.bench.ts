/**
 * Supply-chain adapters:
 * - SBOM for a 5,000-input artifact (`toCycloneDX`, JSON and XML, CycloneDX 1.6): time and size,
 *   against `JSON.stringify` of the same header (the cost of merely serializing the data);
 * - `verifyImage` over an OCI layout whose one gzip layer holds 500 MiB (`SUPPLY_CHAIN_LAYER_MIB`
 *   scales it), against `sha256sum` + `tar -tzf` of the same blob, in the same run: digest-only
 *   verification against `sha256sum` alone, and full verification (`pathInImage`: digest, gunzip,
 *   tar parse, diff_id, file hash) against `sha256sum` + `tar -tzf`.
 * Data goes to .bench-data/supply-chain and is deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { toCycloneDX } from '@plumbline/cyclonedx';
import { verifyImage } from '@plumbline/oci';
import type { ProvenanceHeader } from '@plumbline/core/header';
import { median, report } from './lib/report.js';

const sh = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '.bench-data', 'supply-chain');
const LAYER_MIB = Number(process.env['SUPPLY_CHAIN_LAYER_MIB'] ?? 500);
const INPUTS = 5000;

function hex(i: number, salt: number): string {
  return ((i * 2654435761 + salt) >>> 0).toString(16).padStart(8, '0').repeat(8);
}

function bigHeader(): ProvenanceHeader {
  const roles = ['spec', 'config', 'plugin', 'other'] as const;
  return {
    format: 'plumbline.header/v1',
    artifact_hash: `sha256:${hex(1, 7)}`,
    hash_alg: 'sha256',
    build_timestamp: '2026-01-02T03:04:05Z',
    provenance: {
      commit: '0123456789abcdef0123456789abcdef01234567',
      source: 'https://github.com/plumbline-dev/sample-gateway',
      ref: 'refs/heads/main',
      builder: { id: 'https://github.com/plumbline-dev/plumbline/cli', version: '0.1.0' },
    },
    inputs: Array.from({ length: INPUTS }, (_, i) => {
      const role = roles[i % 4]!;
      return {
        path: `${role}s/group-${Math.floor(i / 100)}/input-${i}.${role === 'plugin' ? 'wasm' : 'yaml'}`,
        size: 1000 + i,
        digest: `sha256:${hex(i, 3)}` as const,
        role,
      };
    }),
    payload: {
      digest: `sha256:${hex(2, 9)}`,
      size: 123456,
      media_type: 'application/octet-stream',
    },
    extensions: {},
  };
}

async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e6, value];
}

async function sbom(): Promise<void> {
  const header = bigHeader();
  await toCycloneDX(header); // warm-up
  const json: number[] = [];
  const xml: number[] = [];
  const base: number[] = [];
  let jsonBytes = 0;
  let xmlBytes = 0;
  let baseBytes = 0;
  for (let i = 0; i < 7; i++) {
    const [a, j] = await time(() => toCycloneDX(header));
    const [b, x] = await time(() => toCycloneDX(header, { format: 'xml' }));
    const [c, s] = await time(() => JSON.stringify(header, null, 2));
    json.push(a);
    xml.push(b);
    base.push(c);
    jsonBytes = Buffer.byteLength(j);
    xmlBytes = Buffer.byteLength(x);
    baseBytes = Buffer.byteLength(s);
  }
  const baseline = { name: 'JSON.stringify(header)', value: median(base) };
  report({
    name: `sbom ${INPUTS} inputs, JSON 1.6`,
    value: median(json),
    unit: 'ms',
    baseline,
    higherIsBetter: false,
  });
  report({
    name: `sbom ${INPUTS} inputs, XML 1.6`,
    value: median(xml),
    unit: 'ms',
    baseline,
    higherIsBetter: false,
  });
  const sizeBase = { name: 'header as JSON', value: baseBytes / 2 ** 20 };
  report({
    name: `sbom ${INPUTS} inputs, JSON size`,
    value: jsonBytes / 2 ** 20,
    unit: 'MiB',
    baseline: sizeBase,
    higherIsBetter: false,
  });
  report({
    name: `sbom ${INPUTS} inputs, XML size`,
    value: xmlBytes / 2 ** 20,
    unit: 'MiB',
    baseline: sizeBase,
    higherIsBetter: false,
  });
}

async function sha256File(file: string): Promise<string> {
  const { stdout } = await sh('sha256sum', [file]);
  return `sha256:${stdout.slice(0, 64)}`;
}

async function image(): Promise<void> {
  const layout = join(root, 'layout');
  const staging = join(root, 'staging');
  await mkdir(join(staging, 'etc', 'gateway'), { recursive: true });
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await sh('sh', [
    '-c',
    `head -c ${LAYER_MIB}M /dev/urandom > "${join(staging, 'etc', 'gateway', 'data.bin')}"`,
  ]);
  await writeFile(join(staging, 'etc', 'gateway', 'gateway.plb'), 'the artifact\n');
  const tarFile = join(root, 'layer.tar');
  await sh('tar', ['-cf', tarFile, '-C', staging, 'etc']);
  const diffId = await sha256File(tarFile);
  await sh('sh', ['-c', `gzip -1 -c "${tarFile}" > "${tarFile}.gz"`]);
  await rm(tarFile);
  await rm(staging, { recursive: true });
  const layerDigest = await sha256File(`${tarFile}.gz`);
  const layerSize = (await stat(`${tarFile}.gz`)).size;
  const blob = join(layout, 'blobs', 'sha256', layerDigest.slice(7));
  await sh('mv', [`${tarFile}.gz`, blob]);
  const labels = { 'dev.plumbline.artifact.hash': `sha256:${hex(1, 7)}` };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: labels },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  await writeFile(join(root, 'config.json'), config);
  const configDigest = await sha256File(join(root, 'config.json'));
  await sh('mv', [
    join(root, 'config.json'),
    join(layout, 'blobs', 'sha256', configDigest.slice(7)),
  ]);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: layerDigest,
          size: layerSize,
        },
      ],
    }),
  );
  await writeFile(join(root, 'manifest.json'), manifest);
  const manifestDigest = await sha256File(join(root, 'manifest.json'));
  await sh('mv', [
    join(root, 'manifest.json'),
    join(layout, 'blobs', 'sha256', manifestDigest.slice(7)),
  ]);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
        },
      ],
    }),
  );
  const artifactFile = join(root, 'gateway.plb');
  await writeFile(artifactFile, 'the artifact\n');
  const header = { ...bigHeader(), inputs: [] };
  const mib = layerSize / 2 ** 20;

  const digestOnly: number[] = [];
  const full: number[] = [];
  const shaTimes: number[] = [];
  const shaTar: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [a, r1] = await time(() => verifyImage({ layout, artifact: { header } }));
    const [b, r2] = await time(() =>
      verifyImage({
        layout,
        artifact: { header, file: artifactFile },
        pathInImage: '/etc/gateway/gateway.plb',
      }),
    );
    if (!r1.ok || !r2.ok)
      throw new Error(`verifyImage failed: ${JSON.stringify([r1.problems, r2.problems])}`);
    const [c] = await time(() => sh('sha256sum', [blob]));
    const [d] = await time(() => sh('tar', ['-tzf', blob], { maxBuffer: 1 << 20 }));
    digestOnly.push(a);
    full.push(b);
    shaTimes.push(c);
    shaTar.push(c + d);
  }
  report({
    name: `verify-image digest only, ${mib.toFixed(0)} MiB gzip layer`,
    value: mib / (median(digestOnly) / 1000),
    unit: 'MiB/s',
    baseline: { name: 'sha256sum', value: mib / (median(shaTimes) / 1000) },
    higherIsBetter: true,
  });
  report({
    name: `verify-image --path-in-image, ${mib.toFixed(0)} MiB gzip layer`,
    value: mib / (median(full) / 1000),
    unit: 'MiB/s',
    baseline: { name: 'sha256sum + tar -tzf', value: mib / (median(shaTar) / 1000) },
    higherIsBetter: true,
  });
}

export async function run(): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  try {
    await sbom();
    await image();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

import { createReadStream } from 'node:fs';
import {
  mkdtemp,
  mkdir,
  open,
  readFile,
  readdir,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  formatDigest,
  getHashBackend,
  setHashBackend,
  sha256,
  type HashBackend,
} from '@plumbline/core/hash';
import { manifestFromEntries } from '@plumbline/core/manifest';
import {
  buildManifest,
  openArtifact,
  readHeader,
  sealArtifactFile,
  updateAttachmentsFile,
  verifyArtifact,
} from '@plumbline/core/node';
import { sampleHeader, SAMPLE_FILES, SAMPLE_PAYLOAD } from '../header/sample.js';
import { readAll, rejectionCode, sealToBytes } from './helpers.js';

let dir: string;
const provenance = sampleHeader().provenance;
const extensions = sampleHeader().extensions;
const mediaType = 'application/vnd.example.gateway.config+json';

async function writeInputs(root: string, order: readonly string[], mtime: number): Promise<void> {
  for (const path of order) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), SAMPLE_FILES[path]!);
    await utimes(join(root, path), mtime, mtime);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plumbline-container-'));
  await writeInputs(join(dir, 'inputs'), Object.keys(SAMPLE_FILES), 1_000_000);
  await writeFile(join(dir, 'payload.bin'), SAMPLE_PAYLOAD);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sealSample(out: string, inputs = join(dir, 'inputs')) {
  const manifest = await buildManifest([inputs], {
    roles: { 'specs/**': 'spec', 'config/**': 'config', 'plugins/**': 'plugin' },
  });
  return sealArtifactFile({
    manifest,
    provenance,
    extensions,
    mediaType,
    sourceDateEpoch: '1700000000',
    payload: join(dir, 'payload.bin'),
    out,
  });
}

describe('sealArtifactFile', () => {
  test('writes the same bytes as the stream sealer, in one pass, atomically', async () => {
    const out = join(dir, 'a.plb');
    const result = await sealSample(out);
    const { bytes, result: expected } = await sealToBytes({
      header: result.header,
      payload: SAMPLE_PAYLOAD,
    });
    expect(new Uint8Array(await readFile(out))).toEqual(bytes);
    expect(result.headerDigest).toBe(expected.headerDigest);
    expect(result.size).toBe(bytes.length);
    expect(result.artifactDigest).toBeUndefined();
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const withDigest = await sealArtifactFile({
      header: result.header,
      payload: join(dir, 'payload.bin'),
      out,
      artifactDigest: true,
    });
    expect(withDigest.artifactDigest).toBe(expected.artifactDigest);
  });

  test('hashes a checked manifest once: sealing hashes the payload and the header only', async () => {
    const manifest = await buildManifest([join(dir, 'inputs')]);
    expect(manifest.entries.length).toBeGreaterThan(2);
    // A manifest this process built is frozen: it cannot have changed since its root was computed.
    expect(Object.isFrozen(manifest.entries[0])).toBe(true);
    const counted = { oneShot: 0, streams: 0 };
    const real = getHashBackend();
    const counting: HashBackend = {
      name: real.name,
      sha256: (data) => (counted.oneShot++, real.sha256(data)),
      createSha256: () => (counted.streams++, real.createSha256()),
    };
    setHashBackend(counting);
    let result;
    try {
      result = await sealArtifactFile({
        manifest,
        provenance,
        sourceDateEpoch: '1700000000',
        payload: join(dir, 'payload.bin'),
        out: join(dir, 'once.plb'),
      });
    } finally {
      setHashBackend(real);
    }
    // One stream over the payload, one one-shot hash of the header bytes; no leaf or node hash.
    expect(counted).toEqual({ oneShot: 1, streams: 1 });
    expect(result.header.artifact_hash).toBe(manifest.root);
    expect((await readHeader(join(dir, 'once.plb'))).headerDigest).toBe(result.headerDigest);
    // A manifest it did not build (a copy) is checked again: a wrong root is refused.
    await expect(
      sealArtifactFile({
        manifest: { ...manifest, root: manifestFromEntries(manifest.entries.slice(1)).root },
        provenance,
        payload: join(dir, 'payload.bin'),
        out: join(dir, 'wrong.plb'),
      }),
    ).rejects.toMatchObject({ code: 'PLB_ROOT_MISMATCH' });
  });

  test('gives the artifact digest without reading the container back', async () => {
    const manifest = await buildManifest([join(dir, 'inputs')]);
    const counted = { oneShot: 0, streams: 0 };
    const real = getHashBackend();
    setHashBackend({
      name: real.name,
      sha256: (data) => (counted.oneShot++, real.sha256(data)),
      createSha256: () => (counted.streams++, real.createSha256()),
    });
    const out = join(dir, 'digest.plb');
    let result;
    try {
      result = await sealArtifactFile({
        manifest,
        provenance,
        sourceDateEpoch: '1700000000',
        payload: join(dir, 'payload.bin'),
        out,
        artifactDigest: true,
      });
    } finally {
      setHashBackend(real);
    }
    // The payload stream, the artifact digest's stream and the header's one-shot hash: the
    // container is not decoded again (which would hash its header a second time).
    expect(counted).toEqual({ oneShot: 1, streams: 2 });
    expect(result.artifactDigest).toBe(formatDigest(sha256(await readFile(out))));
    // With the header given, the payload digest is known up front: one pass gives both.
    counted.oneShot = 0;
    counted.streams = 0;
    setHashBackend({
      name: real.name,
      sha256: (data) => (counted.oneShot++, real.sha256(data)),
      createSha256: () => (counted.streams++, real.createSha256()),
    });
    let again;
    try {
      again = await sealArtifactFile({
        header: result.header,
        payload: join(dir, 'payload.bin'),
        out: join(dir, 'digest-2.plb'),
        artifactDigest: true,
      });
    } finally {
      setHashBackend(real);
    }
    expect(counted).toEqual({ oneShot: 1, streams: 2 });
    expect(again.artifactDigest).toBe(result.artifactDigest);
  });

  test('two seals of the same inputs are byte-identical whatever the file order and mtimes', async () => {
    const other = join(dir, 'inputs-2');
    await writeInputs(other, [...Object.keys(SAMPLE_FILES)].reverse(), 2_000_000_000);
    await sealSample(join(dir, 'one.plb'));
    await sealSample(join(dir, 'two.plb'), other);
    expect(await readFile(join(dir, 'two.plb'))).toEqual(await readFile(join(dir, 'one.plb')));
  });

  test('refuses a payload that differs from a given header and leaves no partial output', async () => {
    await writeFile(join(dir, 'other.bin'), new Uint8Array(SAMPLE_PAYLOAD.length));
    const out = join(dir, 'bad.plb');
    expect(
      await rejectionCode(
        sealArtifactFile({ header: sampleHeader(), payload: join(dir, 'other.bin'), out }),
      ),
    ).toBe('PLB_PAYLOAD_MISMATCH');
    await writeFile(join(dir, 'short.bin'), new Uint8Array(3));
    expect(
      await rejectionCode(
        sealArtifactFile({ header: sampleHeader(), payload: join(dir, 'short.bin'), out }),
      ),
    ).toBe('PLB_PAYLOAD_MISMATCH');
    expect(
      await rejectionCode(
        sealArtifactFile({ header: sampleHeader(), payload: join(dir, 'missing.bin'), out }),
      ),
    ).toBe('PLB_IO');
    expect(
      await rejectionCode(
        sealArtifactFile({
          header: sampleHeader(),
          payload: join(dir, 'payload.bin'),
          out: join(dir, 'no-dir', 'x.plb'),
        }),
      ),
    ).toBe('PLB_IO');
    expect(
      await rejectionCode(
        sealArtifactFile({
          header: sampleHeader(),
          payload: join(dir, 'payload.bin'),
          out,
          signal: AbortSignal.abort(),
        }),
      ),
    ).toBe('PLB_ABORTED');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f === 'bad.plb')).toEqual([]);
  });
});

describe('sealArtifactFile, aborted while it copies', () => {
  test('stops within a few chunks and leaves no output or temporary file', async () => {
    // A sparse payload of 8 GiB: far longer to copy than the test waits.
    const huge = join(dir, 'huge-payload.bin');
    const handle = await open(huge, 'w');
    await handle.truncate(8 * 1024 ** 3);
    await handle.close();
    const out = join(dir, 'aborted.plb');
    const manifest = await buildManifest([join(dir, 'inputs')]);
    const controller = new AbortController();
    const sealing = sealArtifactFile({
      manifest,
      provenance,
      payload: huge,
      out,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    expect(await rejectionCode(sealing)).toBe('PLB_ABORTED');
    await rm(huge);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f === 'aborted.plb')).toEqual(
      [],
    );
  });
});

describe('reading files', () => {
  test('readHeader takes a path, a file handle, a Node stream or bytes', async () => {
    const out = join(dir, 'read.plb');
    const sealed = await sealSample(out);
    const fromPath = await readHeader(out, { artifactDigest: true });
    expect(fromPath.headerDigest).toBe(sealed.headerDigest);
    expect(fromPath.artifactDigest).toBe(formatDigest(sha256(await readFile(out))));
    const handle = await open(out);
    try {
      expect((await readHeader(handle)).headerDigest).toBe(sealed.headerDigest);
      // The handle stays open for its owner.
      expect((await handle.stat()).size).toBe(sealed.size);
    } finally {
      await handle.close();
    }
    expect((await readHeader(createReadStream(out, { highWaterMark: 7 }))).headerDigest).toBe(
      sealed.headerDigest,
    );
    expect((await readHeader(new URL(`file://${out}`))).headerDigest).toBe(sealed.headerDigest);
    expect(await rejectionCode(readHeader(join(dir, 'nope.plb')))).toBe('PLB_IO');
    expect(await rejectionCode(readHeader(join(dir, 'payload.bin')))).toBe('PLB_LEGACY_ARTIFACT');
  });

  test('openArtifact streams the payload of a file', async () => {
    const out = join(dir, 'open.plb');
    await sealSample(out);
    const opened = await openArtifact(out);
    expect(await readAll(opened.payload)).toEqual(SAMPLE_PAYLOAD);
    expect(await opened.artifactDigest).toBe(formatDigest(sha256(await readFile(out))));
  });
});

describe('verifyArtifact with inputs', () => {
  test('recomputes the manifest from disk and lists the differing files', async () => {
    const inputs = join(dir, 'inputs-3');
    await writeInputs(inputs, Object.keys(SAMPLE_FILES), 1_000_000);
    const out = join(dir, 'verify.plb');
    await sealSample(out, inputs);
    expect((await verifyArtifact(out, { inputs: [inputs] })).status).toBe('verified');
    await writeFile(join(inputs, 'config/gateway.yaml'), 'listen: 0.0.0.0:9090\n');
    await writeFile(join(inputs, 'config/extra.yaml'), 'x: 1\n');
    await rm(join(inputs, 'plugins/auth.wasm'));
    const result = await verifyArtifact(out, { inputs: [inputs] });
    expect(result.status).toBe('mismatch');
    expect(result.differences?.changed.map((c) => c.path)).toEqual(['config/gateway.yaml']);
    expect(result.differences?.added.map((c) => c.path)).toEqual(['config/extra.yaml']);
    expect(result.differences?.removed.map((c) => c.path)).toEqual(['plugins/auth.wasm']);
    expect((await verifyArtifact(join(dir, 'payload.bin'))).status).toBe('legacy');
  });
});

describe('updateAttachmentsFile', () => {
  test('rewrites only the prefix: header digest, artifact digest and payload unchanged', async () => {
    const out = join(dir, 'attach.plb');
    await sealSample(out);
    const before = await readHeader(out, { artifactDigest: true });
    const bundle = new TextEncoder().encode('{"bundle":true}');
    const signedPath = join(dir, 'attach-signed.plb');
    await updateAttachmentsFile(
      out,
      { 'dev.plumbline.sigstore.bundle': bundle },
      { out: signedPath },
    );
    const after = await readHeader(signedPath, { artifactDigest: true });
    expect(after.attachments).toEqual({ 'dev.plumbline.sigstore.bundle': bundle });
    expect(after.headerDigest).toBe(before.headerDigest);
    expect(after.artifactDigest).toBe(before.artifactDigest);
    expect((await readFile(signedPath)).subarray(after.payloadOffset)).toEqual(
      Buffer.from(SAMPLE_PAYLOAD),
    );
    // In place, then removed again: back to the original bytes.
    await updateAttachmentsFile(signedPath, { 'dev.plumbline.sigstore.bundle': null });
    expect(await readFile(signedPath)).toEqual(await readFile(out));
    expect((await stat(signedPath)).size).toBe(before.payloadOffset + SAMPLE_PAYLOAD.length);
    expect(await rejectionCode(updateAttachmentsFile(out, { bad: new Uint8Array() }))).toBe(
      'PLB_ATTACHMENT_INVALID',
    );
    expect(
      await rejectionCode(updateAttachmentsFile(out, {}, { out: join(dir, 'none', 'x.plb') })),
    ).toBe('PLB_IO');
    expect(
      await rejectionCode(updateAttachmentsFile(out, {}, { signal: AbortSignal.abort() })),
    ).toBe('PLB_ABORTED');
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import {
  artifactDigestOf,
  decodeAttachments,
  encodeAttachments,
  encodePrefix,
  EMPTY_ATTACHMENTS,
  measurePayload,
  mergeAttachments,
  openArtifact,
  readHeader,
  rewriteAttachments,
  verifyArtifact,
  type RandomAccessSource,
} from '@plumbline/core/container';
import { formatDigest, sha256 } from '@plumbline/core/hash';
import { encodeHeader, headerDigest } from '@plumbline/core/header';
import { manifestFromEntries } from '@plumbline/core/manifest';
import { sampleEntries, sampleHeader, SAMPLE_PAYLOAD } from '../header/sample.js';
import { chunkedStream, readAll, rejection, rejectionCode, sealToBytes } from './helpers.js';

const golden = (name: string): string =>
  fileURLToPath(new URL(`../golden/${name}`, import.meta.url));
const update = process.env['UPDATE_GOLDEN'] === '1';
const BUNDLE = 'dev.plumbline.sigstore.bundle';

async function sample() {
  return sealToBytes({ header: sampleHeader(), payload: SAMPLE_PAYLOAD });
}

describe('golden container', () => {
  test('the sample container has the pinned bytes and digests', async () => {
    const { bytes, result } = await sample();
    const hex = Buffer.from(bytes)
      .toString('hex')
      .replace(/(.{64})/g, '$1\n')
      .trimEnd();
    const digests = `artifact_digest ${result.artifactDigest}\nheader_digest ${result.headerDigest}\npayload_offset ${result.payloadOffset}\n`;
    if (update) {
      writeFileSync(golden('container.plb.hex'), `${hex}\n`);
      writeFileSync(golden('container.digests.txt'), digests);
    }
    expect(`${hex}\n`).toBe(readFileSync(golden('container.plb.hex'), 'utf8'));
    expect(digests).toBe(readFileSync(golden('container.digests.txt'), 'utf8'));
    // Without attachments the artifact digest is the file's SHA-256.
    expect(result.artifactDigest).toBe(formatDigest(sha256(bytes)));
    expect(Buffer.from(bytes.subarray(0, 10)).toString('hex')).toBe('89504c420d0a1a0a0001');
  });
});

describe('readHeader', () => {
  test('reads the same prefix from bytes, 1-byte Web stream chunks, async iterables and random access', async () => {
    const { bytes, result } = await sample();
    const fromBytes = await readHeader(bytes);
    expect(fromBytes.headerDigest).toBe(result.headerDigest);
    expect(fromBytes.header).toEqual(sampleHeader());
    expect(fromBytes.attachments).toEqual({});
    expect(fromBytes.payloadOffset).toBe(result.payloadOffset);
    const fromStream = await readHeader(chunkedStream(bytes, 1));
    const fromIterable = await readHeader(
      (async function* () {
        yield bytes.subarray(0, 5);
        yield new Uint8Array(0);
        yield bytes.subarray(5);
      })(),
    );
    let furthest = 0;
    const randomAccess: RandomAccessSource = {
      read(position, length) {
        furthest = Math.max(furthest, position + length);
        return Promise.resolve(bytes.slice(position, position + length));
      },
    };
    const fromRandom = await readHeader(randomAccess);
    for (const info of [fromStream, fromIterable, fromRandom]) {
      expect(info.headerBytes).toEqual(fromBytes.headerBytes);
      expect(info.payloadOffset).toBe(fromBytes.payloadOffset);
    }
    // Only the prefix was touched.
    expect(furthest).toBeLessThanOrEqual(result.payloadOffset);
  });

  test('a stream is not read past the prefix unless the artifact digest is asked for', async () => {
    const { bytes, result } = await sample();
    let pulledBeyond = false;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (offset >= result.payloadOffset) pulledBeyond = true;
          controller.enqueue(bytes.slice(offset, offset + 16));
          offset += 16;
          if (offset >= bytes.length) controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    await readHeader(stream);
    expect(pulledBeyond).toBe(false);
    const withDigest = await readHeader(chunkedStream(bytes, 7), { artifactDigest: true });
    expect(withDigest.artifactDigest).toBe(result.artifactDigest);
  });

  test.each([
    ['an empty file', new Uint8Array(0)],
    ['a text file', new TextEncoder().encode('listen: 8080\n')],
    ['a PNG', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])],
    ['a short non-magic file', new Uint8Array([0x89, 0x50, 0x4c, 0x00])],
  ])('reports %s as a legacy artifact', async (_, bytes) => {
    expect(await rejectionCode(readHeader(bytes))).toBe('PLB_LEGACY_ARTIFACT');
    const result = await verifyArtifact(bytes);
    expect(result.status).toBe('legacy');
    expect(result.artifactDigest).toBe(formatDigest(sha256(bytes)));
  });

  test('refuses other container versions with PLB_UNSUPPORTED_VERSION', async () => {
    const { bytes } = await sample();
    for (const version of [0, 2, 0xffff]) {
      const copy = bytes.slice();
      copy[8] = version >> 8;
      copy[9] = version & 0xff;
      const error = await rejection(readHeader(copy));
      expect(error.code).toBe('PLB_UNSUPPORTED_VERSION');
      expect(error.details['version']).toBe(version);
    }
  });

  test('checks lengths that claim 4 GiB against the limits before allocating', async () => {
    const { bytes, result } = await sample();
    const header = bytes.slice();
    header.set([0xff, 0xff, 0xff, 0xff], 10);
    expect(await rejectionCode(readHeader(header))).toBe('PLB_LIMIT_BYTES');
    const attachments = bytes.slice();
    attachments.set([0xff, 0xff, 0xff, 0xff], result.payloadOffset - 5);
    expect(await rejectionCode(readHeader(attachments))).toBe('PLB_LIMIT_BYTES');
    // Within the limits but beyond the end of the input: truncated at the end.
    const long = bytes.slice(0, 100);
    long.set([0x00, 0x10, 0x00, 0x00], 10);
    const error = await rejection(readHeader(long));
    expect(error.code).toBe('PLB_TRUNCATED');
    expect(error.details['offset']).toBe(100);
    expect(await rejectionCode(readHeader(bytes, { maxHeaderBytes: 100 }))).toBe('PLB_LIMIT_BYTES');
  });

  test('truncation anywhere is PLB_TRUNCATED with the offset where the input ends', async () => {
    const { bytes, result } = await sample();
    for (let cut = 1; cut < bytes.length; cut++) {
      const piece = bytes.subarray(0, cut);
      const error =
        cut < result.payloadOffset
          ? await rejection(readHeader(piece))
          : await rejection(verifyArtifact(piece));
      expect(error.code, `cut at ${cut}`).toBe('PLB_TRUNCATED');
      expect(error.details['offset'], `cut at ${cut}`).toBe(cut);
    }
  });

  test('honours an abort signal', async () => {
    const { bytes } = await sample();
    expect(await rejectionCode(readHeader(bytes, { signal: AbortSignal.abort() }))).toBe(
      'PLB_ABORTED',
    );
    expect(await rejectionCode(verifyArtifact(bytes, { signal: AbortSignal.abort() }))).toBe(
      'PLB_ABORTED',
    );
    expect(await rejectionCode(openArtifact(bytes, { signal: AbortSignal.abort() }))).toBe(
      'PLB_ABORTED',
    );
  });
});

describe('openArtifact', () => {
  test('streams the payload and resolves the artifact digest at the end', async () => {
    const { bytes, result } = await sample();
    const opened = await openArtifact(chunkedStream(bytes, 10));
    expect(opened.header.artifact_hash).toBe(sampleHeader().artifact_hash);
    expect(await readAll(opened.payload)).toEqual(SAMPLE_PAYLOAD);
    expect(await opened.artifactDigest).toBe(result.artifactDigest);
  });

  test('errors the stream on a changed, truncated or longer payload', async () => {
    const { bytes } = await sample();
    const flipped = bytes.slice();
    flipped[flipped.length - 1]! ^= 1;
    const cases: [Uint8Array, string][] = [
      [flipped, 'PLB_PAYLOAD_MISMATCH'],
      [bytes.subarray(0, bytes.length - 3), 'PLB_TRUNCATED'],
      [new Uint8Array([...bytes, 0]), 'PLB_PAYLOAD_MISMATCH'],
    ];
    for (const [input, code] of cases) {
      const opened = await openArtifact(input);
      expect(await rejectionCode(readAll(opened.payload))).toBe(code);
      expect(await rejectionCode(opened.artifactDigest)).toBe(code);
    }
    // Without verification a changed payload streams through.
    const unchecked = await openArtifact(flipped, { verifyPayload: false });
    expect((await readAll(unchecked.payload)).length).toBe(SAMPLE_PAYLOAD.length);
  });

  test('reads the next chunk of a random-access source while the current one is consumed, and settles it before closing', async () => {
    const { bytes } = await sample();
    const events: string[] = [];
    let release: (() => void) | undefined;
    const source: RandomAccessSource = {
      read(position, length) {
        events.push(`read ${position}`);
        const out = bytes.slice(position, position + length);
        if (position < bytes.length) return Promise.resolve(out);
        // The read past the end (the one started ahead) settles only when released, and fails.
        return new Promise((_, reject) => {
          release = () => {
            events.push('read ahead settled');
            reject(new Error('gone'));
          };
        });
      },
      close() {
        events.push('close');
        return Promise.resolve();
      },
    };
    const opened = await openArtifact(source);
    const reader = opened.payload.getReader();
    const first = await reader.read();
    expect(first.value).toEqual(SAMPLE_PAYLOAD);
    // The read after the payload was started before the consumer asked for it.
    expect(events.at(-1)).toBe(`read ${bytes.length}`);
    const cancelled = reader.cancel();
    await new Promise((r) => setTimeout(r, 10));
    expect(events).not.toContain('close');
    release!();
    await cancelled;
    // Closed only after the read in flight settled; its failure reached no one.
    expect(events.slice(-2)).toEqual(['read ahead settled', 'close']);
    expect(await rejectionCode(opened.artifactDigest)).toBe('PLB_ABORTED');
  });

  test('cancelling the payload stream rejects the artifact digest', async () => {
    const { bytes } = await sample();
    const opened = await openArtifact(bytes);
    await opened.payload.cancel();
    expect(await rejectionCode(opened.artifactDigest)).toBe('PLB_ABORTED');
  });
});

describe('verifyArtifact', () => {
  test('verifies a sealed artifact and computes every digest in one pass', async () => {
    const { bytes, result } = await sample();
    const verification = await verifyArtifact(chunkedStream(bytes, 33));
    expect(verification.status).toBe('verified');
    expect(verification.problems).toEqual([]);
    expect(verification.artifactDigest).toBe(result.artifactDigest);
    expect(verification.headerDigest).toBe(result.headerDigest);
    expect(verification.payload).toEqual({
      digest: formatDigest(sha256(SAMPLE_PAYLOAD)),
      size: SAMPLE_PAYLOAD.length,
    });
  });

  test('reports a changed payload and trailing bytes as a mismatch', async () => {
    const { bytes } = await sample();
    const flipped = bytes.slice();
    flipped[flipped.length - 2]! ^= 0x40;
    const changed = await verifyArtifact(flipped);
    expect(changed.status).toBe('mismatch');
    expect(changed.problems.map((p) => p.code)).toEqual(['PLB_PAYLOAD_MISMATCH']);
    const longer = await verifyArtifact(new Uint8Array([...bytes, 1, 2]));
    expect(longer.problems.map((p) => p.code)).toEqual([
      'PLB_PAYLOAD_MISMATCH',
      'PLB_PAYLOAD_MISMATCH',
    ]);
  });

  test('reports a header whose artifact_hash is not the root of its inputs', async () => {
    const header = { ...sampleHeader(), artifact_hash: `sha256:${'0'.repeat(64)}` as const };
    const { bytes } = await sealToBytes({ header, payload: SAMPLE_PAYLOAD });
    const result = await verifyArtifact(bytes);
    expect(result.status).toBe('mismatch');
    expect(result.problems.map((p) => p.code)).toEqual(['PLB_ROOT_MISMATCH']);
  });

  test('lists added, removed and changed files against a manifest', async () => {
    const { bytes } = await sample();
    const entries = sampleEntries();
    const same = await verifyArtifact(bytes, { manifest: manifestFromEntries(entries) });
    expect(same.status).toBe('verified');
    expect(same.differences?.equal).toBe(true);
    const other = manifestFromEntries([
      { ...entries[0]!, digest: `sha256:${'1'.repeat(64)}` },
      entries[1]!,
      { path: 'specs/orders.yaml', size: 1, digest: `sha256:${'2'.repeat(64)}` },
    ]);
    const result = await verifyArtifact(bytes, { manifest: other });
    expect(result.status).toBe('mismatch');
    expect(result.problems.map((p) => p.code)).toEqual([
      'PLB_ROOT_MISMATCH',
      'PLB_INPUTS_MISMATCH',
    ]);
    expect(result.differences?.added.map((e) => e.path)).toEqual(['specs/orders.yaml']);
    expect(result.differences?.removed.map((e) => e.path)).toEqual(['plugins/auth.wasm']);
    expect(result.differences?.changed.map((e) => e.path)).toEqual(['specs/users.yaml']);
  });
});

describe('sealArtifact', () => {
  const fields = {
    manifest: manifestFromEntries(sampleEntries()),
    provenance: sampleHeader().provenance,
    extensions: sampleHeader().extensions,
    sourceDateEpoch: '1700000000',
    mediaType: 'application/vnd.example.gateway.config+json',
  };

  test('builds the header itself from bytes, a Blob or a stream factory, with equal results', async () => {
    const { bytes: expected } = await sample();
    const fromBytes = await sealToBytes({ ...fields, payload: SAMPLE_PAYLOAD });
    const fromBlob = await sealToBytes({
      ...fields,
      payload: new Blob([SAMPLE_PAYLOAD as Uint8Array<ArrayBuffer>]),
    });
    const fromFactory = await sealToBytes({
      ...fields,
      payload: () => chunkedStream(SAMPLE_PAYLOAD, 5),
    });
    expect(fromBytes.bytes).toEqual(expected);
    expect(fromBlob.bytes).toEqual(expected);
    expect(fromFactory.bytes).toEqual(expected);
  });

  test('streams a one-shot payload with a ready header, and refuses one without', async () => {
    const { bytes: expected } = await sample();
    const oneShot = await sealToBytes({
      header: sampleHeader(),
      payload: chunkedStream(SAMPLE_PAYLOAD, 3),
    });
    expect(oneShot.bytes).toEqual(expected);
    expect(
      await rejectionCode(
        sealToBytes({ ...fields, payload: chunkedStream(SAMPLE_PAYLOAD, 3) as never }),
      ),
    ).toBe('PLB_PAYLOAD_INVALID');
  });

  test('refuses a payload that differs from the header and aborts the destination', async () => {
    let aborted = false;
    const destination = new WritableStream<Uint8Array>({
      abort() {
        aborted = true;
      },
    });
    const { sealArtifact } = await import('@plumbline/core/container');
    const wrong = new Uint8Array(SAMPLE_PAYLOAD.length).fill(1);
    expect(
      await rejectionCode(sealArtifact({ header: sampleHeader(), payload: wrong }, destination)),
    ).toBe('PLB_PAYLOAD_MISMATCH');
    expect(aborted).toBe(true);
    for (const payload of [SAMPLE_PAYLOAD.subarray(1), new Uint8Array([...SAMPLE_PAYLOAD, 0])]) {
      expect(await rejectionCode(sealToBytes({ header: sampleHeader(), payload }))).toBe(
        'PLB_PAYLOAD_MISMATCH',
      );
    }
    expect(
      await rejectionCode(
        sealToBytes({ ...fields, payload: SAMPLE_PAYLOAD, signal: AbortSignal.abort() }),
      ),
    ).toBe('PLB_ABORTED');
  });

  test('measurePayload and artifactDigestOf agree with sealing', async () => {
    const { result } = await sample();
    expect(await measurePayload(SAMPLE_PAYLOAD)).toEqual({
      digest: sampleHeader().payload.digest,
      size: SAMPLE_PAYLOAD.length,
    });
    expect(artifactDigestOf(encodeHeader(sampleHeader()), SAMPLE_PAYLOAD)).toBe(
      result.artifactDigest,
    );
  });
});

describe('attachments', () => {
  test('adding and removing an attachment never changes the header or artifact digest', async () => {
    const { bytes, result } = await sample();
    const bundle = new TextEncoder().encode(
      '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}',
    );
    const out: Uint8Array[] = [];
    await rewriteAttachments(
      bytes,
      { [BUNDLE]: bundle },
      new WritableStream({ write: (c) => void out.push(c) }),
    );
    const signed = new Uint8Array(Buffer.concat(out));
    const info = await readHeader(signed, { artifactDigest: true });
    expect(info.attachments).toEqual({ [BUNDLE]: bundle });
    expect(info.headerDigest).toBe(result.headerDigest);
    expect(info.artifactDigest).toBe(result.artifactDigest);
    expect(info.header.artifact_hash).toBe(sampleHeader().artifact_hash);
    expect((await verifyArtifact(signed)).status).toBe('verified');
    const back: Uint8Array[] = [];
    await rewriteAttachments(
      signed,
      { [BUNDLE]: null },
      new WritableStream({ write: (c) => void back.push(c) }),
    );
    expect(new Uint8Array(Buffer.concat(back))).toEqual(bytes);
  });

  test('encodes deterministically and refuses bad keys, values and shapes', () => {
    expect(encodeAttachments({})).toEqual(EMPTY_ATTACHMENTS);
    const a = encodeAttachments({ 'dev.b.x': new Uint8Array([1]), 'dev.a.x': new Uint8Array([2]) });
    expect(decodeAttachments(a)).toEqual({
      'dev.a.x': new Uint8Array([2]),
      'dev.b.x': new Uint8Array([1]),
    });
    const code = (fn: () => unknown): string => {
      try {
        fn();
        return 'none';
      } catch (error) {
        return (error as PlumblineError).code;
      }
    };
    expect(code(() => encodeAttachments({ bundle: new Uint8Array() }))).toBe(
      'PLB_ATTACHMENT_INVALID',
    );
    expect(code(() => encodeAttachments({ 'dev.x.y': 'text' as never }))).toBe(
      'PLB_ATTACHMENT_INVALID',
    );
    expect(code(() => mergeAttachments({}, { 'dev.x.y': 5 as never }))).toBe(
      'PLB_ATTACHMENT_INVALID',
    );
    expect(code(() => mergeAttachments({}, { __proto__: null } as never))).toBe('none');
    expect(code(() => decodeAttachments(new Uint8Array([0x80])))).toBe('PLB_ATTACHMENT_INVALID');
    expect(code(() => decodeAttachments(new Uint8Array([0xa1, 0x61, 0x61, 0x41, 0])))).toBe(
      'PLB_ATTACHMENT_INVALID',
    );
    // dev.x.y -> "text" (a text value, not bytes)
    const textValue = new Uint8Array([
      0xa1,
      0x67,
      ...new TextEncoder().encode('dev.x.y'),
      0x61,
      0x74,
    ]);
    expect(code(() => decodeAttachments(textValue))).toBe('PLB_ATTACHMENT_INVALID');
    expect(
      code(() =>
        decodeAttachments(
          new Uint8Array([0xa1, 0x67, ...new TextEncoder().encode('dev.x.y'), 0xa0]),
        ),
      ),
    ).toBe('PLB_LIMIT_DEPTH');
  });

  test('a container with attachments verifies, and its prefix encodes as documented', async () => {
    const headerBytes = encodeHeader(sampleHeader());
    const attachments = { [BUNDLE]: new Uint8Array([1, 2, 3]) };
    const { bytes, result } = await sealToBytes({
      header: sampleHeader(),
      payload: SAMPLE_PAYLOAD,
      attachments,
    });
    expect(bytes.subarray(0, result.payloadOffset)).toEqual(
      encodePrefix(headerBytes, encodeAttachments(attachments)),
    );
    expect(result.artifactDigest).toBe(artifactDigestOf(headerBytes, SAMPLE_PAYLOAD));
    expect(result.headerDigest).toBe(headerDigest(headerBytes));
  });
});

describe('hostile containers (fuzz)', () => {
  const isCoded = (error: unknown): boolean =>
    PlumblineError.is(error) && /^PLB_[A-Z0-9_]+$/.test(error.code);

  test('random truncation and bit flips end in a result or a coded PlumblineError', async () => {
    const { bytes } = await sample();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(bytes.length * 8 - 1), { minLength: 1, maxLength: 4 }),
        fc.nat(bytes.length),
        async (bits, cut) => {
          const input = bytes.slice(0, Math.max(cut, 1));
          for (const bit of bits) if (bit >> 3 < input.length) input[bit >> 3]! ^= 1 << (bit & 7);
          for (const run of [() => readHeader(input), () => verifyArtifact(input)]) {
            try {
              await run();
            } catch (error) {
              expect(isCoded(error)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('random bytes after the magic and version end in a coded PlumblineError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (rest) => {
        const input = new Uint8Array([
          0x89,
          0x50,
          0x4c,
          0x42,
          0x0d,
          0x0a,
          0x1a,
          0x0a,
          0,
          1,
          ...rest,
        ]);
        try {
          await verifyArtifact(input);
        } catch (error) {
          expect(isCoded(error)).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });

  test('hostile headers: deep nesting, duplicates, floats, tags, 4 GiB strings', async () => {
    const wrap = (header: Uint8Array): Uint8Array => encodePrefix(header, EMPTY_ATTACHMENTS);
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([...new Array<number>(100_000).fill(0x81), 0]), 'PLB_LIMIT_DEPTH'],
      [new Uint8Array([0xa2, 0x61, 0x61, 1, 0x61, 0x61, 2]), 'PLB_CBOR_DUPLICATE_KEY'],
      [new Uint8Array([0xa1, 0x61, 0x61, 0xfa, 0, 0, 0, 0]), 'PLB_CBOR_FLOAT'],
      [new Uint8Array([0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00]), 'PLB_CBOR_TAG'],
      [new Uint8Array([0x7a, 0xff, 0xff, 0xff, 0xff]), 'PLB_LIMIT_STRING'],
      [new Uint8Array([0x9b, 0, 0, 0, 1, 0, 0, 0, 0]), 'PLB_LIMIT_ENTRIES'],
      [new Uint8Array([0xbf, 0xff]), 'PLB_CBOR_INDEFINITE'],
      [encodeHeader(sampleHeader()).map((b, i) => (i === 20 ? b ^ 0x20 : b)), 'PLB_HEADER_INVALID'],
    ];
    for (const [header, code] of cases) {
      expect(await rejectionCode(readHeader(wrap(header))), code).toBe(code);
    }
  });
});

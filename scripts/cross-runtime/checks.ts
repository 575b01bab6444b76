// The cross-runtime checks: one module, Web APIs only, bundled by scripts/cross-runtime.mjs and run
// unchanged on Node 20, Node 24, Bun, Deno (no flags), an edge-style worker and headless Chromium.
// Every step returns text; the runner compares it byte for byte with golden.json.
import { PlumblineError } from '@plumbline/core';
import { createMemoryAuditLogger, createRedactor, provenanceRead } from '@plumbline/core/audit';
import {
  encodeAttachments,
  readHeader,
  sealArtifact,
  verifyArtifact,
} from '@plumbline/core/container';
import { encodeFrame, parseDataPlaneFrame } from '@plumbline/core/drift';
import { formatDigest, sha256, utf8 } from '@plumbline/core/hash';
import {
  checkHeader,
  createHeader,
  decodeHeader,
  encodeHeader,
  headerToJson,
} from '@plumbline/core/header';
import {
  manifestFromEntries,
  proveEntry,
  serializeManifest,
  verifyEntryProof,
} from '@plumbline/core/manifest';
import { MerkleTree, verifyConsistency } from '@plumbline/core/merkle';

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function entries(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const text = `route ${i}: /svc-${i} → upstream-${i % 7} ünïcødé\n`;
    return {
      path: `config/${String(i).padStart(3, '0')}/routes-${'é'.repeat(i % 3)}.yaml`,
      size: utf8(text).length,
      digest: formatDigest(sha256(utf8(text))),
      role: (['spec', 'config', 'plugin', 'other'] as const)[i % 4]!,
    };
  });
}

const manifest = manifestFromEntries(entries(37));
const payload = utf8('{"compiled":true}\n'.repeat(100));
const header = createHeader({
  manifest,
  payload: { digest: formatDigest(sha256(payload)), size: payload.length },
  provenance: {
    commit: 'a'.repeat(40),
    source: 'https://github.com/acme/gateway',
    ref: 'refs/heads/main',
    builder: { id: 'https://ci.example/builder', version: '1.2.3' },
  },
  extensions: { 'com.example.gw.tier': 'edge', 'com.example.gw.routes': 37 },
  sourceDateEpoch: '1700000000',
});

async function sealed(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await sealArtifact(
    { header, payload, attachments: {} },
    new WritableStream({ write: (c) => void chunks.push(c.slice()) }),
  );
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    return PlumblineError.is(error) ? error.code : `uncoded ${String(error)}`;
  }
}

/** Each step: a name and a function giving its output text. */
export const steps: readonly (readonly [string, () => string | Promise<string>])[] = [
  [
    'hash',
    () => [formatDigest(sha256(utf8(''))), formatDigest(sha256(utf8('ünïcødé ✓')))].join('\n'),
  ],
  ['manifest', () => `${manifest.root}\n${serializeManifest(manifest)}`],
  [
    'proofs',
    () => {
      const lines: string[] = [];
      for (const path of [manifest.entries[0]!.path, manifest.entries[36]!.path]) {
        const proof = proveEntry(manifest, path);
        lines.push(JSON.stringify(proof), String(verifyEntryProof(proof, { root: manifest.root })));
      }
      const leaves = Array.from({ length: 20 }, (_, i) => utf8(`leaf ${i}`));
      const tree = MerkleTree.fromLeafInputs(leaves);
      const old = MerkleTree.fromLeafInputs(leaves.slice(0, 13));
      const path = tree.consistencyProof(13);
      lines.push(hex(old.root), hex(tree.root), ...path.map(hex));
      lines.push(
        String(
          verifyConsistency({
            oldSize: 13,
            newSize: 20,
            oldRoot: old.root,
            newRoot: tree.root,
            path,
          }),
        ),
        String(
          verifyConsistency({
            oldSize: 14,
            newSize: 20,
            oldRoot: old.root,
            newRoot: tree.root,
            path,
          }),
        ),
      );
      return lines.join('\n');
    },
  ],
  [
    'header',
    () => {
      const bytes = encodeHeader(header);
      const back = decodeHeader(bytes);
      return [hex(bytes), headerToJson(back), JSON.stringify(checkHeader(back))].join('\n');
    },
  ],
  [
    'cbor-errors',
    () =>
      [
        codeOf(() => decodeHeader(new Uint8Array([0xa1, 0x61, 0x61]))),
        codeOf(() => decodeHeader(new Uint8Array([0xfb, 0, 0, 0, 0, 0, 0, 0, 0]))),
        codeOf(() => decodeHeader(new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff]))),
        codeOf(() => decodeHeader(new Uint8Array([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]))),
        codeOf(() => decodeHeader(encodeHeader(header), { maxHeaderBytes: 100 })),
        codeOf(() =>
          decodeHeader(
            new Uint8Array(100_000)
              .fill(0xa0)
              .fill(0x9a, 0, 1)
              .fill(0, 1, 2)
              .fill(1, 2, 3)
              .fill(0x86, 3, 4)
              .fill(0x9b, 4, 5),
          ),
        ),
      ].join('\n'),
  ],
  [
    'container',
    async () => {
      const bytes = await sealed();
      const info = await readHeader(bytes, { artifactDigest: true });
      const result = await verifyArtifact(bytes);
      const tampered = bytes.slice();
      tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
      const bad = await verifyArtifact(tampered);
      return [
        formatDigest(sha256(bytes)),
        info.headerDigest,
        info.artifactDigest,
        hex(encodeAttachments({})),
        result.status,
        bad.status,
        JSON.stringify(bad.problems.map((p) => p.code)),
      ].join('\n');
    },
  ],
  [
    'drift-frames',
    () => {
      const frame = encodeFrame({
        type: 'error',
        code: 'PLB_DRIFT_IDENTITY_MISMATCH',
        message: 'node_id does not match',
      });
      return [frame, codeOf(() => parseDataPlaneFrame('{"type":"hello"'))].join('\n');
    },
  ],
  [
    'audit',
    async () => {
      const { logger, sink } = createMemoryAuditLogger({ now: () => 1_700_000_000_123 });
      await logger.emit(
        provenanceRead({
          actor: { type: 'service', id: 'admin-token' },
          details: {
            node_id: 'gw-1',
            artifact_hash: null,
            path: '/_admin/provenance',
            status: 200,
          },
        }),
      );
      await logger.close();
      // The event id is a UUIDv7: its first 48 bits are the clock, the rest random.
      return sink.events
        .map((event) => {
          const id = event.id;
          const shape =
            /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id);
          return JSON.stringify({ ...event, id: `${id.slice(0, 13)}… uuidv7=${shape}` });
        })
        .join('\n');
    },
  ],
  [
    'redaction',
    () =>
      JSON.stringify(
        createRedactor()({
          password: 'hunter2',
          url: 'https://u:p@example.com/x?token=abc',
          note: 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
        }),
      ),
  ],
];

/** Runs every step; a step that throws gives `THREW <code or message>` as its output. */
export async function runChecks(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, step] of steps) {
    try {
      out[name] = await step();
    } catch (error) {
      out[name] = `THREW ${PlumblineError.is(error) ? error.code : String(error)}`;
    }
  }
  return out;
}

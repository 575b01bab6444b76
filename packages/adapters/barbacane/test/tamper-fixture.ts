import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tarMember } from '../../../examples/fixtures/barbacane/make-bca.js';
import { computeBarbacaneArtifactHash } from '../src/artifact-hash.js';
import { parseBarbacaneManifest } from '../src/schema.js';

/**
 * What an attacker does with a sealed copy: rewrite manifest.json in place, recompute
 * Barbacane's own artifact_hash with its formula, and keep every other member (and the embedded
 * header) byte for byte.
 */
export async function tamper(
  sealed: string,
  edit: (m: Record<string, unknown>) => void,
): Promise<string> {
  const tar = gunzipSync(await readFile(sealed));
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < tar.length) {
    const block = tar.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) break;
    const name = block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(block.subarray(124, 136).toString('latin1').replace(/\0.*$/s, ''), 8);
    const next = offset + 512 + Math.ceil(size / 512) * 512;
    if (name === 'manifest.json') {
      const m = JSON.parse(tar.subarray(offset + 512, offset + 512 + size).toString('utf8'));
      edit(m);
      m.artifact_hash = computeBarbacaneArtifactHash(
        parseBarbacaneManifest(new TextEncoder().encode(JSON.stringify(m))),
      );
      parts.push(tarMember('manifest.json', Buffer.from(JSON.stringify(m, null, 2))));
    } else {
      parts.push(tar.subarray(offset, next));
    }
    offset = next;
  }
  parts.push(Buffer.alloc(1024));
  const out = `${sealed}.tampered.bca`;
  await writeFile(out, gzipSync(Buffer.concat(parts)));
  return out;
}

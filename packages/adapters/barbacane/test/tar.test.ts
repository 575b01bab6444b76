import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gnuHeader, samplePath, tarMember } from '@plumbline/testkit/barbacane';
import { readBca } from '../src/read.js';
import { TarWalker } from '../src/tar.js';
import { hex, tempDir } from './fixtures.js';

// The committed version 4 sample (Barbacane 0.8.1's layout): manifest.json, routes.json,
// specs/health.yaml, plugins/rate-limit.wasm, then two zero blocks.
const SAMPLE = gunzipSync(readFileSync(samplePath(4)));
const END = SAMPLE.length - 1024;
const withMembers = (...extra: Buffer[]): Buffer =>
  Buffer.concat([SAMPLE.subarray(0, END), ...extra, Buffer.alloc(1024)]);

async function read(tar: Buffer): Promise<Awaited<ReturnType<typeof readBca>>> {
  const file = join(await tempDir(), 'x.bca');
  await writeFile(file, gzipSync(tar));
  return readBca(file);
}

const code = (c: string) => expect.objectContaining({ code: c });

describe('readBca: tar entry types', () => {
  // Barbacane's compiler writes only regular files (type byte NUL) and GNU long names ('L')
  // (barbacane-compiler src/artifact.rs, add_file_to_tar: Header::new_gnu + append_data, every
  // tag). The tar crate its loaders read with yields every other type as an entry too.
  it.each([
    'V',
    'S',
    'Z',
    'A',
    'K',
    'M',
    'N',
    'I',
    'E',
    '9',
    'D',
    '5',
    '7',
    'x',
    'g',
    '3',
    '4',
    '6',
  ])('refuses a specs/x.yaml member of tar type %s with PLB_BCA_ENTRY_TYPE', async (type) => {
    const tar = withMembers(
      tarMember('specs/x.yaml', Buffer.from('openapi: 3.1.0\n'), type.charCodeAt(0)),
    );
    await expect(read(tar)).rejects.toEqual(code('PLB_BCA_ENTRY_TYPE'));
  });

  it("accepts type '0' (what other tar writers use for a regular file) like Barbacane's NUL", async () => {
    const bca = await read(withMembers(tarMember('specs/extra.yaml', Buffer.from('x'), 0x30)));
    expect(bca.members.map((m) => m.path)).toContain('specs/extra.yaml');
  });

  it('reads a GNU long name (what append_data writes for a path over 100 bytes)', async () => {
    const long = `specs/${'a'.repeat(150)}.yaml`;
    const name = Buffer.concat([Buffer.from(long), Buffer.alloc(1)]);
    const tar = withMembers(
      tarMember('././@LongLink', name, 0x4c),
      tarMember(long.slice(0, 100), Buffer.from('x')),
    );
    const bca = await read(tar);
    expect(bca.members.map((m) => m.path)).toContain(long);
    // Two long names for one member, or one followed by the end, are corrupt.
    await expect(
      read(
        withMembers(
          tarMember('L', name, 0x4c),
          tarMember('L', name, 0x4c),
          tarMember('x', Buffer.from('x')),
        ),
      ),
    ).rejects.toEqual(code('PLB_BCA_CORRUPT'));
    await expect(read(withMembers(tarMember('L', name, 0x4c)))).rejects.toEqual(
      code('PLB_BCA_CORRUPT'),
    );
  });

  it('reads the path of a POSIX ustar header as prefix/name, of a GNU header as name alone', async () => {
    const ustar = gnuHeader('api.yaml', 1);
    ustar.write('ustar\u000000', 257, 'latin1');
    ustar.write('specs', 345, 'latin1');
    const fix = (block: Buffer): Buffer => {
      block.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of block) sum += b;
      block.fill(0, 148, 156);
      block.write(sum.toString(8).padStart(7, '0'), 148, 'ascii');
      return block;
    };
    const pad = Buffer.alloc(512);
    pad[0] = 0x78;
    const bca = await read(withMembers(fix(ustar), pad));
    expect(bca.members.map((m) => m.path)).toContain('specs/api.yaml');
    const gnu = gnuHeader('other.yaml', 1);
    gnu.write('specs', 345, 'latin1'); // GNU keeps atime here: not a prefix
    const bca2 = await read(withMembers(fix(gnu), pad));
    expect(bca2.members.map((m) => m.path)).toContain('other.yaml');
  });
});

describe('readBca: the end of the archive', () => {
  it('refuses a tar stream without its end-of-archive marker (PLB_BCA_TRUNCATED)', async () => {
    await expect(read(SAMPLE.subarray(0, END))).rejects.toEqual(code('PLB_BCA_TRUNCATED'));
    await expect(read(SAMPLE.subarray(0, END + 512))).rejects.toEqual(code('PLB_BCA_TRUNCATED'));
  });

  it('refuses a stream that ends inside a member or a header (PLB_BCA_TRUNCATED)', async () => {
    for (const cut of [END - 1, 700, 512, 100]) {
      await expect(read(SAMPLE.subarray(0, cut))).rejects.toEqual(code('PLB_BCA_TRUNCATED'));
    }
  });

  it('accepts zero padding after the marker and refuses data there', async () => {
    await expect(read(Buffer.concat([SAMPLE, Buffer.alloc(9216)]))).resolves.toBeDefined();
    const trailing = Buffer.concat([SAMPLE, tarMember('specs/hidden.yaml', Buffer.from('x'))]);
    await expect(read(trailing)).rejects.toEqual(code('PLB_BCA_CORRUPT'));
  });

  it('refuses a lone zero block between members and a bad header checksum', async () => {
    const lone = withMembers(Buffer.alloc(512), tarMember('specs/x.yaml', Buffer.from('x')));
    await expect(read(lone)).rejects.toEqual(code('PLB_BCA_CORRUPT'));
    const bad = Buffer.from(SAMPLE);
    bad[0] = 0x4e; // 'N' for 'm' of manifest.json
    await expect(read(bad)).rejects.toEqual(code('PLB_BCA_CORRUPT'));
  });
});

describe('readBca: properties of malformed input', () => {
  it('any truncation of the sample is refused as truncated', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: SAMPLE.length - 1024 }), async (n) => {
        await expect(read(SAMPLE.subarray(0, n))).rejects.toMatchObject({
          code: expect.stringMatching(/^PLB_BCA_(TRUNCATED|CORRUPT)$/),
        });
      }),
      { numRuns: 60 },
    );
  });

  it('any changed header byte is refused or read; a read never disagrees with the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 511 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const tar = Buffer.from(SAMPLE);
        tar[512 * 0 + at] = (tar[at] ?? 0) ^ xor;
        try {
          const bca = await read(tar);
          // Only a change the checksum cannot see (none in the header) may read.
          expect(bca.members.length).toBe(4);
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(/^PLB_BCA_/);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('a member claiming more bytes than a limit is refused from its header (oversized)', async () => {
    const file = join(await tempDir(), 'big.bca');
    const header = gnuHeader('specs/big.yaml', 2 ** 40);
    await writeFile(file, gzipSync(withMembers(header)));
    await expect(readBca(file)).rejects.toEqual(code('PLB_BCA_ENTRY_TOO_LARGE'));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 65, max: 4096 }), async (size) => {
        const tar = withMembers(tarMember('specs/y.yaml', Buffer.alloc(size, 0x61)));
        const f = join(await tempDir(), 'y.bca');
        await writeFile(f, gzipSync(tar));
        await expect(
          readBca(f, { limits: { maxEntryBytes: 64, maxManifestBytes: 4096 } }),
        ).rejects.toEqual(code('PLB_BCA_ENTRY_TOO_LARGE'));
      }),
      { numRuns: 20 },
    );
  });

  it('refuses inflating far beyond what its members may hold (zeros after the marker)', async () => {
    const file = join(await tempDir(), 'bomb.bca');
    await writeFile(file, gzipSync(Buffer.concat([SAMPLE, Buffer.alloc(8 * 1024 * 1024)])));
    await expect(readBca(file, { limits: { maxTotalBytes: 4096 } })).rejects.toEqual(
      code('PLB_BCA_TOO_LARGE'),
    );
  });

  it('reads the sample itself', async () => {
    const bca = await readBca(fileURLToPath(samplePath(4)));
    expect(bca.members.map((m) => m.path)).toEqual([
      'manifest.json',
      'routes.json',
      'specs/health.yaml',
      'plugins/rate-limit.wasm',
    ]);
  });
});

describe('TarWalker (property)', () => {
  const walk = (chunks: readonly Buffer[]): string[] => {
    const seen: string[] = [];
    let current: { path: string; bytes: Uint8Array } | null = null;
    const walker = new TarWalker(
      {
        member: (h) => {
          current = { path: h.path, bytes: new Uint8Array(h.size) };
          return current.bytes;
        },
        memberEnd: () => {
          if (current !== null) seen.push(`${current.path}:${hex(current.bytes)}`);
          current = null;
        },
      },
      { digestBefore: 'plugins/rate-limit.wasm' },
    );
    for (const chunk of chunks) walker.push(chunk);
    walker.end();
    return [...seen, JSON.stringify(walker.prefix)];
  };
  const whole = walk([SAMPLE]);

  it('reads the same members whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1500 }), { maxLength: 40 }), (sizes) => {
        const chunks: Buffer[] = [];
        let at = 0;
        for (const size of sizes) {
          if (at >= SAMPLE.length) break;
          chunks.push(SAMPLE.subarray(at, at + size));
          at += size;
        }
        chunks.push(SAMPLE.subarray(at));
        expect(walk(chunks)).toEqual(whole);
      }),
      { numRuns: 200 },
    );
    expect(whole).toHaveLength(5);
    // The prefix before the last member: the sample up to that member's header.
    const start = SAMPLE.length - 1024 - 512 - 512; // the 43-byte plugin: one header, one block
    expect(JSON.parse(whole[4]!)).toEqual({
      digest: `sha256:${hex(SAMPLE.subarray(0, start))}`,
      size: start,
    });
  });

  it('throws only coded errors on arbitrary bytes after a valid member', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (tail) => {
        try {
          walk([SAMPLE.subarray(0, 1536), Buffer.from(tail)]);
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(/^PLB_BCA_/);
        }
      }),
      { numRuns: 200 },
    );
  });
});

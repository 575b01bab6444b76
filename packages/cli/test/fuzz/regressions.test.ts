/**
 * The security review's findings, one named regression test each (the detailed tests live beside
 * each fix; these keep the whole set in the fuzz suite).
 */
import net from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { createAdminHandler, hashAdminToken } from '@plumbline/core/admin';
import { TransparencyLogAppender, verifyTransparencyLog } from '@plumbline/core/audit';
import { createLogSink, type FleetEvent } from '@plumbline/core/drift';
import { normalizeProvenance, parseHeader } from '@plumbline/core/header';
import { inclusionTreeSizes } from '@plumbline/core/merkle';
import { startAdminListener } from '@plumbline/core/node';
import { LoadedArtifactRegistry } from '@plumbline/core/verify';
import { verifyImage } from '@plumbline/oci';
import { createKeylessBundle } from '@plumbline/sigstore';
import { escapeControl } from '../../src/escape.js';
import { runCli } from '../helpers.js';
import { makeLayout, makeTar } from './layouts.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plb-regress-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const codeOf = async (fn: () => unknown): Promise<string> => {
  try {
    await fn();
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return 'no error';
};

describe('security review regressions', () => {
  it('idle sockets no longer lock out the admin endpoint', async () => {
    const token = 'regress-admin-token-77';
    const listener = await startAdminListener({
      handler: createAdminHandler({
        source: new LoadedArtifactRegistry(),
        auth: { tokens: [{ id: 'ops', sha256: hashAdminToken(token) }] },
        rateLimit: false,
      }),
    });
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        const s = net.connect({
          host: '127.0.0.1',
          port: listener.port,
          localAddress: `127.0.3.${2 + (i % 20)}`,
        });
        s.on('error', () => undefined);
        sockets.push(s);
      }
      await Promise.all(sockets.map((s) => once(s, 'connect')));
      const reply = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: listener.port }, () =>
          s.end(`GET /_admin/health HTTP/1.1\r\nauthorization: Bearer ${token}\r\n\r\n`),
        );
        let text = '';
        s.on('data', (c: Buffer) => (text += c.toString('latin1')));
        s.on('close', () => resolve(text));
        s.on('error', reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const s of sockets) s.destroy();
      await listener.close({ graceMs: 0 });
    }
  });

  it('sign --keyless no longer prints a rejected identity token', async () => {
    const secret = 'regress-opaque-token-5d1e';
    const error = await createKeylessBundle({
      payload: new Uint8Array([1]),
      identityToken: secret,
      fulcioUrl: 'http://127.0.0.1:9',
      rekorUrl: false,
      retries: 0,
    }).catch((e: unknown) => e as Error);
    expect(String((error as Error).message)).not.toContain(secret);
    expect(String(((error as Error).cause as Error | undefined)?.message)).not.toContain(secret);
  });

  it('seal --source no longer stores an access_token', async () => {
    expect(
      await codeOf(() =>
        normalizeProvenance({
          builder: { id: 'ci', version: '1' },
          source: 'https://h/o/r?access_token=x1',
        }),
      ),
    ).toBe('PLB_PROVENANCE_INVALID');
  });

  it('control characters in a header are malformed, and printed text is escaped', async () => {
    const header = {
      format: 'plumbline.header/v1',
      artifact_hash: `sha256:${'0'.repeat(64)}`,
      hash_alg: 'sha256',
      build_timestamp: '2026-01-01T00:00:00Z',
      provenance: { builder: { id: 'ci\u001b[2J', version: '1' } },
      inputs: [],
      payload: { digest: `sha256:${'0'.repeat(64)}`, size: 0, media_type: 'x/y' },
      extensions: {},
    };
    // parseHeader is the check decodeHeader (readers) and encodeHeader (writers) both run.
    expect(await codeOf(() => parseHeader(header))).toBe('PLB_HEADER_INVALID');
    expect(escapeControl('a\r\nverified: yes\u0007')).toBe('a\\r\\nverified: yes\\x07');
  });

  it('verify-proof no longer reports a changed tree_size as proven', () => {
    expect(inclusionTreeSizes(8, 16, 4)).toEqual({ min: 13, max: 16 });
  });

  it('audit verify names a re-serialised record modified', async () => {
    const log = TransparencyLogAppender.create({ origin: 'regress' });
    const lines = [await log.checkpoint({})];
    for (let i = 0; i < 3; i++)
      lines.push(log.append(JSON.stringify({ schema_version: 1, type: 'x', n: i })));
    lines.push(await log.checkpoint({}));
    const parsed = JSON.parse(lines[2]!) as Record<string, unknown>;
    lines[2] = JSON.stringify({ event: parsed['event'], prev: parsed['prev'], seq: parsed['seq'] });
    const report = await verifyTransparencyLog([
      new TextEncoder().encode(lines.map((l) => `${l}\n`).join('')),
    ]);
    expect(report.problem?.kind).toBe('modified');
  });

  it('verify-image no longer skips an unknown tar entry type', async () => {
    const layout = join(work, 'oci');
    await makeLayout(layout, makeTar([{ path: 'etc/x', type: 'Z', data: 'x' }]));
    const artifact = join(work, 'a.plb');
    await writeFile(artifact, 'x');
    expect(
      await codeOf(() =>
        verifyImage({
          layout,
          artifact: {
            header: {
              format: 'plumbline.header/v1',
              artifact_hash: `sha256:${'0'.repeat(64)}`,
              hash_alg: 'sha256',
              build_timestamp: '2026-01-01T00:00:00Z',
              provenance: { builder: { id: 'ci', version: '1' } },
              inputs: [],
              payload: { digest: `sha256:${'0'.repeat(64)}`, size: 0, media_type: 'x/y' },
              extensions: {},
            },
            file: artifact,
          },
          pathInImage: 'etc/x',
        }),
      ),
    ).toBe('PLB_OCI_TAR_ENTRY_UNSUPPORTED');
  });

  it('the control plane log no longer prints a desired-state reason verbatim', () => {
    const lines: string[] = [];
    createLogSink({ writable: { write: (l: string) => lines.push(l) } }).send({
      type: 'desired_state.changed',
      id: 'e',
      at: '2026-01-01T00:00:00.000Z',
      cluster: 'prod',
      artifact_hash: null,
      previous_hash: null,
      version: 0,
      actor: 'ops',
      reason: 'password=hunter2-regress https://ops:pw-regress@vault/x',
      rollout: null,
    } as unknown as FleetEvent);
    expect(lines.join('')).not.toMatch(/hunter2-regress|pw-regress/);
  });

  it('CLI error lines no longer carry raw escape sequences', async () => {
    const result = await runCli(['inspect', 'no\u001b]0;x\u0007such.plb'], { cwd: work });
    // eslint-disable-next-line no-control-regex -- asserting their absence
    expect(result.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

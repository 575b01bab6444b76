import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'vitest';
import { MemoryAuditSink, createHttpBatchSink, createJsonLinesSink } from '@plumbline/core/audit';
import { createAuditFileSink, createAuditTransparencyLog } from '@plumbline/core/node';
import { createKeySigner, generateSigningKeyPair } from '@plumbline/core/signer';
import { describeAuditSinkConformance } from '@plumbline/core/testing';

const api = { describe, it };
const lines = (text: string): string[] => text.split('\n').filter((l) => l.length > 0);

await describeAuditSinkConformance(
  'MemoryAuditSink',
  async () => {
    const sink = new MemoryAuditSink();
    return { sink, read: async () => sink.records.map((r) => r.json) };
  },
  { api },
);

await describeAuditSinkConformance(
  'JSON-lines stream sink',
  async () => {
    let text = '';
    const stream = new WritableStream<Uint8Array>({
      write(chunk) {
        text += new TextDecoder().decode(chunk);
      },
    });
    return { sink: createJsonLinesSink({ stream }), read: async () => lines(text) };
  },
  { api },
);

await describeAuditSinkConformance(
  'file sink',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-sinkc-'));
    const path = join(dir, 'audit.log');
    return {
      sink: await createAuditFileSink({ path }),
      read: async () => lines(await readFile(path, 'utf8')),
      reopen: () => createAuditFileSink({ path }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
  { api },
);

const pair = await generateSigningKeyPair({ algorithm: 'ed25519' });
const signer = await createKeySigner({ privateKey: pair.privateKeyPem });
await describeAuditSinkConformance(
  'transparency-log sink',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plb-sinkc-'));
    const path = join(dir, 'audit.log');
    const events = async (): Promise<string[]> =>
      lines(await readFile(path, 'utf8'))
        .filter((l) => l.startsWith('{"seq"'))
        .map((l) => l.slice(l.indexOf(',"event":') + 9, -1));
    return {
      sink: await createAuditTransparencyLog({ path, signer, checkpointEvery: 7 }),
      read: events,
      reopen: () => createAuditTransparencyLog({ path, signer }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
  { api },
);

await describeAuditSinkConformance(
  'HTTP batch sink',
  async () => {
    const received: string[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(...lines(gunzipSync(Buffer.concat(chunks)).toString()));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return {
      sink: createHttpBatchSink({ url: `http://127.0.0.1:${port}/`, maxBatchEvents: 10 }),
      read: async () => received,
      dispose: () => new Promise<void>((r) => server.close(() => r())),
    };
  },
  { api },
);

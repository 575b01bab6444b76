import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlumblineError } from '@plumbline/core';
import { createAdminHandler, RateLimiter } from '@plumbline/core/admin';
import {
  createAuditLogger,
  createHttpBatchSink,
  createRedactor,
  proveAuditEvent,
  verifyTransparencyLog,
} from '@plumbline/core/audit';
import { decodeCanonical } from '../../src/cbor/index.js';
import {
  createAuditFileSink,
  createAuditTransparencyLog,
  startAdminListener,
} from '@plumbline/core/node';
import { createHttpJsonProbe, watchLiveConfig } from '@plumbline/core/probe';
import { createCommandProbe, createNginxProbe } from '@plumbline/core/probe/node';
import { LoadedArtifactRegistry, verifyOnLoad } from '@plumbline/core/verify';

/** The error `run` throws (or rejects with). */
async function errorOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Refused by limitOption: the area's code, the option named in the message and in details. */
async function expectRefused(
  run: () => unknown,
  code: string,
  option: string,
  bound: string,
): Promise<void> {
  const error = await errorOf(run);
  expect(PlumblineError.is(error, code as never), String(error)).toBe(true);
  const e = error as PlumblineError;
  expect(e.message).toBe(`${option} must be ${bound}`);
  expect(e.details).toEqual({ option });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plb-limit-options-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const registry = new LoadedArtifactRegistry();
const auth = { allowUnauthenticated: true } as const;

describe('numeric options (one rule: limitOption)', () => {
  it('admin handler, rate limiter, listener and registry', async () => {
    const code = 'PLB_ADMIN_CONFIG_INVALID';
    await expectRefused(
      () => createAdminHandler({ source: registry, auth, maxUrlLength: 10 }),
      code,
      'maxUrlLength',
      'an integer >= 64',
    );
    await expectRefused(
      () => createAdminHandler({ source: registry, auth: { ...auth, maxTokenLength: 0 } }),
      code,
      'auth.maxTokenLength',
      'a positive integer',
    );
    await expectRefused(
      () => new RateLimiter({ burst: 0.5 }, Date.now),
      code,
      'rateLimit.burst',
      'a number >= 1',
    );
    await expectRefused(
      () => new RateLimiter({ requestsPerSecond: Infinity }, Date.now),
      code,
      'rateLimit.requestsPerSecond',
      'a positive number',
    );
    const handler = createAdminHandler({ source: registry, auth });
    await expectRefused(
      () => startAdminListener({ handler, maxHeaderSize: 512 }),
      code,
      'maxHeaderSize',
      'an integer >= 1024',
    );
    await expectRefused(
      () => startAdminListener({ handler, idleTimeoutMs: 1.5 }),
      code,
      'idleTimeoutMs',
      'a positive integer',
    );
    await expectRefused(
      () => new LoadedArtifactRegistry({ maxWorkers: 0 }),
      'PLB_VERIFY_REGISTRY_INVALID',
      'maxWorkers',
      'a positive integer',
    );
    await expectRefused(
      () => verifyOnLoad({ kind: 'legacy' } as never, { mode: 'warn', verifierTimeoutMs: 0 }),
      'PLB_VERIFY_POLICY_INVALID',
      'verifierTimeoutMs',
      'a positive number',
    );
  });

  it('audit redaction, deny-storm limit, queues and sinks', async () => {
    const code = 'PLB_AUDIT_CONFIG';
    await expectRefused(
      () => createRedactor({ maxDepth: 0 }),
      code,
      'maxDepth',
      'a positive integer',
    );
    const sink = createHttpBatchSink({ url: 'http://127.0.0.1:9/audit' });
    await expectRefused(
      () =>
        createAuditLogger({
          source: { component: 't' },
          sinks: [{ sink, delivery: 'must-write' }],
          rateLimit: { burst: 0 },
        }),
      code,
      'rate limit burst',
      'a positive number',
    );
    await expectRefused(
      () =>
        createAuditLogger({
          source: { component: 't' },
          sinks: [{ sink, delivery: 'best-effort', queue: { maxEvents: 0 } }],
        }),
      code,
      'best-effort queue maxEvents',
      'a positive integer',
    );
    await expectRefused(
      () => createHttpBatchSink({ url: 'http://127.0.0.1:9/audit', retries: -1 }),
      code,
      'retries',
      'an integer >= 0',
    );
    await expectRefused(
      () => createAuditFileSink({ path: join(dir, 'a.log'), maxFiles: 0 }),
      code,
      'maxFiles',
      'a positive integer',
    );
    await expectRefused(
      () => createAuditTransparencyLog({ path: join(dir, 't.log'), checkpointEvery: 2.5 }),
      code,
      'checkpointEvery',
      'a positive integer',
    );
  });

  it('live-configuration probes and their watch', async () => {
    const code = 'PLB_PROBE_INVALID_OPTION';
    await expectRefused(
      () => createHttpJsonProbe({ url: 'http://127.0.0.1:9/config', maxBytes: 0 }),
      code,
      'maxBytes',
      'a positive integer',
    );
    await expectRefused(
      () => createCommandProbe({ command: 'true', timeoutMs: -1 }),
      code,
      'timeoutMs',
      'a positive integer',
    );
    await expectRefused(
      () => createNginxProbe({ pidFile: join(dir, 'nginx.pid'), maxBytes: 1.5 }),
      code,
      'maxBytes',
      'a positive integer',
    );
    const probe = createHttpJsonProbe({ url: 'http://127.0.0.1:9/config' });
    await expectRefused(
      () => watchLiveConfig({ probe, expected: () => null, intervalMs: 0 }),
      code,
      'intervalMs',
      'a positive integer',
    );
  });

  it('decoding limits and log verification limits: NaN is refused, never read as no limit', async () => {
    const doc = new Uint8Array([0xa0]);
    for (const option of ['maxBytes', 'maxEntries', 'maxItems', 'maxStringLength', 'maxDepth']) {
      await expectRefused(
        () => decodeCanonical(doc, { [option]: Number.NaN }),
        'PLB_INVALID_OPTION',
        option,
        'a positive integer',
      );
    }
    await expectRefused(
      () => decodeCanonical(doc, { maxExpansion: 0 }),
      'PLB_INVALID_OPTION',
      'maxExpansion',
      'a positive number',
    );
    const log = [new TextEncoder().encode('')];
    for (const option of ['maxLineBytes', 'maxRecords', 'maxProofLength']) {
      await expectRefused(
        () => verifyTransparencyLog(log, { [option]: Number.NaN }),
        'PLB_AUDIT_CONFIG',
        option,
        'a positive integer',
      );
    }
    await expectRefused(
      () => proveAuditEvent(log, 'x', { maxRecords: Number.NaN }),
      'PLB_AUDIT_CONFIG',
      'maxRecords',
      'a positive integer',
    );
  });
});

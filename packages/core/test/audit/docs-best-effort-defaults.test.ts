import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAuditLogger, sessionRejected, type AuditSink } from '@plumbline/core/audit';

// docs/audit.md: "a bounded queue (`maxEvents`, default 10,000) drained in batches (`maxBatch`
// 500, up to `maxInFlight` 4 ordered `write` calls at once while a backlog drains)". Read from
// the doc and exercised with no queue options.
const doc = readFileSync(new URL('../../../../docs/audit.md', import.meta.url), 'utf8').replace(
  /\s+/g,
  ' ',
);
const quoted =
  /\(`maxEvents`, default ([\d,]+)\) drained in batches \(`maxBatch` (\d+), up to `maxInFlight` (\d+) /.exec(
    doc,
  );

describe('docs/audit.md: best-effort queue defaults', () => {
  it('holds maxEvents, writes maxBatch per call, maxInFlight calls at once', async () => {
    expect(quoted).not.toBeNull();
    const [maxEvents, maxBatch, maxInFlight] = quoted!
      .slice(1)
      .map((n) => Number(n.replaceAll(',', '')));
    const calls: { size: number; release: () => void }[] = [];
    let hold = true;
    const held: AuditSink = {
      name: 'held',
      write: (records) =>
        hold
          ? new Promise<void>((release) => calls.push({ size: records.length, release }))
          : Promise.resolve(),
    };
    const logger = createAuditLogger({
      source: { component: 'docs' },
      sinks: [{ sink: held, delivery: 'best-effort' }],
      rateLimit: false,
    });
    const extra = 7;
    await Promise.all(
      Array.from({ length: maxEvents! + extra }, (_, i) =>
        logger.emit(
          sessionRejected({
            actor: { type: 'anonymous', id: `a${i}` },
            details: { reason_code: 'unauthenticated' },
          }),
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logger.metrics().sinks['held']).toMatchObject({ dropped: extra });
    expect(calls.length).toBe(maxInFlight);
    expect(calls.map((c) => c.size)).toEqual(Array.from({ length: maxInFlight! }, () => maxBatch));
    // Drain: every batch is at most maxBatch, never more than maxInFlight calls open.
    let written = 0;
    while (written < maxEvents!) {
      const call = calls.shift();
      if (call === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      expect(call.size).toBeLessThanOrEqual(maxBatch!);
      expect(calls.length).toBeLessThan(maxInFlight!);
      written += call.size;
      call.release();
    }
    expect(written).toBe(maxEvents);
    // Then let the drop summary and anything else through, and close.
    hold = false;
    for (const call of calls.splice(0)) call.release();
    await logger.close();
  });
});

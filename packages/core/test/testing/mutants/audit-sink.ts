/**
 * Broken audit sinks: a small correct in-memory sink (with writeLines and reopen), with one flaw
 * each. The audit sink conformance suite must fail every one (mutation.test.ts).
 */
import { PlumblineError } from '@plumbline/core';
import type { AuditRecord, AuditSink } from '@plumbline/core/audit';
import type { AuditSinkFactory } from '@plumbline/core/testing';

/** Each flaw and the contract clause the suite must name when it catches it. */
export const AUDIT_SINK_FLAWS = {
  'stores nothing once 64 records are held': 'audit-sink.exact',
  'drops the last record of a batch of ten or more': 'audit-sink.exact',
  'resolves before storing': 'audit-sink.exact',
  'long events truncated': 'audit-sink.exact',
  'non-ASCII mangled': 'audit-sink.exact',
  'concurrent writes reordered': 'audit-sink.call-order',
  'an empty write throws': 'audit-sink.call-order',
  'records changed in place': 'audit-sink.no-mutation',
  'accepts and drops writes after close': 'audit-sink.lifecycle',
  'a second close throws': 'audit-sink.lifecycle',
  'writeLines keeps the chunks': 'audit-sink.write-lines',
  'writeLines before earlier writes': 'audit-sink.write-lines',
  'records lost on reopen': 'audit-sink.durable',
} as const;

export type AuditSinkFlaw = keyof typeof AUDIT_SINK_FLAWS;

const decoder = new TextDecoder();
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sink factory with `flaw` built in (a correct sink for `undefined`). */
export function flawedAuditSink(flaw: AuditSinkFlaw | undefined): AuditSinkFactory {
  return async () => {
    const stored: (string | (() => string))[] = [];
    let calls = 0;
    const open = async (): Promise<AuditSink> => {
      let closed = false;
      let closes = 0;
      let chain: Promise<void> = Promise.resolve();
      const live = (): void => {
        if (closed && flaw !== 'accepts and drops writes after close') {
          throw new PlumblineError('PLB_AUDIT_SINK_CLOSED', 'the sink is closed');
        }
      };
      const store = (lines: string[]): void => {
        if (closed) return;
        for (const line of lines) {
          if (flaw === 'stores nothing once 64 records are held' && stored.length >= 64) return;
          let text = line;
          if (flaw === 'long events truncated') text = text.slice(0, 700);
          if (flaw === 'non-ASCII mangled') text = text.replace(/[^ -~]/g, '?');
          stored.push(text);
        }
      };
      const enqueue = (lines: string[], first = false): Promise<void> => {
        const n = ++calls;
        if (flaw === 'resolves before storing') {
          setTimeout(() => store(lines), 20);
          return Promise.resolve();
        }
        if (flaw === 'concurrent writes reordered') {
          return tick(Math.max(0, 30 - n)).then(() => store(lines));
        }
        if (first) {
          store(lines);
          return Promise.resolve();
        }
        chain = chain.then(() => store(lines));
        return chain;
      };
      return {
        name: 'mutant',
        async write(records: readonly AuditRecord[]) {
          live();
          if (records.length === 0 && flaw === 'an empty write throws') throw new Error('empty');
          if (flaw === 'records changed in place') {
            for (const r of records) {
              try {
                (r.event as { seen?: boolean }).seen = true;
              } catch {
                throw new Error('records are frozen');
              }
            }
          }
          let lines = records.map((r) => r.json);
          if (flaw === 'drops the last record of a batch of ten or more' && lines.length >= 10) {
            lines = lines.slice(0, -1);
          }
          await enqueue(lines);
        },
        async writeLines(chunks: readonly Uint8Array[], _count: number) {
          live();
          if (flaw === 'writeLines keeps the chunks') {
            const kept = [...chunks];
            for (const chunk of kept) {
              stored.push(() => decoder.decode(chunk).replace(/\n$/, ''));
            }
            return;
          }
          const text = chunks.map((c) => decoder.decode(c)).join('');
          const lines = text.split('\n').slice(0, -1);
          await enqueue(lines, flaw === 'writeLines before earlier writes');
        },
        async flush() {
          if (flaw !== 'resolves before storing') await chain;
        },
        async close() {
          closes += 1;
          if (closes > 1 && flaw === 'a second close throws') throw new Error('already closed');
          await chain;
          closed = true;
          if (flaw === 'records lost on reopen') stored.length = 0;
        },
      };
    };
    const read = async (): Promise<string[]> =>
      stored.flatMap((s) => (typeof s === 'string' ? [s] : s().split('\n')));
    return { sink: await open(), read, reopen: open };
  };
}

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PlumblineError } from '@plumbline/core';
import {
  proveAuditEvent,
  verifyTransparencyLog,
  type TransparencyLogReport,
} from '@plumbline/core/audit';
import { createKeySignatureVerifier } from '@plumbline/core/signer';
import type { CommandContext, CommandModule } from '../context.js';
import { ExitCode } from '../exit-codes.js';

interface VerifyFlags {
  key?: string;
  json?: boolean;
  maxLineBytes?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function openLog(path: string): Promise<void> {
  const s = await stat(path);
  if (!s.isFile()) throw new PlumblineError('PLB_IO', `not a file: ${path}`, { details: { path } });
}

function maxLine(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new PlumblineError('PLB_USAGE', '--max-line-bytes must be a positive integer');
  }
  return n;
}

function printReport(
  context: CommandContext,
  file: string,
  report: TransparencyLogReport,
  keyed: boolean,
): void {
  if (report.format === 'json-lines') {
    context.print(`${file}: a plain JSON-lines audit log with ${report.records} events`);
    context.print(
      'UNVERIFIED: it carries no tamper evidence (write it with a signing key to get a transparency log)',
    );
    return;
  }
  if (report.format === 'empty') {
    context.print(`${file}: empty`);
    context.print('UNVERIFIED: nothing to verify');
    return;
  }
  context.print(`${file}: transparency log ${report.origin ?? ''}`);
  context.print(`  records: ${report.records}, checkpoints: ${report.checkpoints}`);
  if (report.sealed_root) {
    context.print(
      `  sealed: tree size ${report.sealed_size}, root ${report.sealed_root}, at ${report.sealed_time}`,
    );
  }
  if (report.unsealed_records > 0) {
    context.print(
      `  unsealed: ${report.unsealed_records} records after the last checkpoint are not covered by a signature yet; a truncation after the last checkpoint cannot be detected`,
    );
  }
  if (report.torn_tail) {
    context.print(
      `  truncated: line ${report.torn_tail.position} is incomplete (${report.torn_tail.bytes} bytes): a write cut short, never acknowledged`,
    );
  }
  if (report.problem) {
    const p = report.problem;
    context.print(
      `TAMPERED: ${p.kind} at line ${p.position}${p.seq === undefined ? '' : ` (record ${p.seq})`}: ${p.message}`,
    );
    return;
  }
  if (keyed)
    context.print(
      'OK: every record matches its checkpoint and every checkpoint signature verifies',
    );
  else
    context.print(
      'UNVERIFIED: hashes and consistency proofs match, but signatures were not checked (pass --key PUB.pem)',
    );
}

/**
 * `plumbline audit`: checks audit logs (`verify`) and proves that an event is in one (`prove`).
 *
 * @internal
 */
export const auditCommand: CommandModule = (program, context) => {
  const audit = program
    .command('audit')
    .description('verify audit transparency logs and prove events are in them');

  audit
    .command('verify')
    .description(
      'check every record against its checkpoint, every checkpoint signature and consistency proof; exit 1 names the first modified, deleted, reordered or inserted record',
    )
    .argument('<log>', 'the audit log file')
    .option('--key <pub.pem>', 'public key (PEM) that signed the checkpoints')
    .option('--max-line-bytes <n>', 'longest accepted line (default 1048576)')
    .option('--json', 'print the report as JSON')
    .action(async (log: string, flags: VerifyFlags) => {
      const path = resolve(context.io.cwd, log);
      const verifier = flags.key
        ? await createKeySignatureVerifier({
            publicKey: await readFile(resolve(context.io.cwd, flags.key), 'utf8'),
          })
        : undefined;
      await openLog(path);
      const limit = maxLine(flags.maxLineBytes);
      const report = await verifyTransparencyLog(createReadStream(path), {
        ...(verifier ? { verifier } : {}),
        ...(limit === undefined ? {} : { maxLineBytes: limit }),
      });
      const exit = !report.ok
        ? ExitCode.CheckFailed
        : report.format !== 'transparency-log' || !verifier
          ? ExitCode.Unverified
          : ExitCode.Ok;
      if (flags.json) {
        const { state: _state, ...rest } = report;
        void _state;
        context.printJson({
          file: log,
          ...rest,
          ...(verifier ? { key_id: verifier.keyId } : {}),
          verified: exit === ExitCode.Ok,
        });
      } else {
        printReport(context, log, report, verifier !== undefined);
      }
      context.exit(exit);
    });

  audit
    .command('prove')
    .description(
      'print the RFC 9162 inclusion proof of one event against the latest checkpoint covering it',
    )
    .argument('<log>', 'the audit transparency log file')
    .argument('<event-id>', 'the event id (a UUIDv7)')
    .option('--max-line-bytes <n>', 'longest accepted line (default 1048576)')
    .option('--json', 'print the proof as JSON')
    .action(
      async (log: string, eventId: string, flags: { json?: boolean; maxLineBytes?: string }) => {
        if (!UUID_RE.test(eventId))
          throw new PlumblineError('PLB_USAGE', 'the event id is a lowercase UUID');
        const path = resolve(context.io.cwd, log);
        await openLog(path);
        const limit = maxLine(flags.maxLineBytes);
        const proof = await proveAuditEvent(
          createReadStream(path),
          eventId,
          limit === undefined ? {} : { maxLineBytes: limit },
        );
        if (flags.json) {
          context.printJson(proof);
          return;
        }
        context.print(`event ${proof.event_id} is record ${proof.leaf_index} of ${log}`);
        context.print(`  leaf hash: ${proof.leaf_hash}`);
        context.print(`  tree size: ${proof.tree_size}`);
        context.print(`  root:      ${proof.root}`);
        context.print(
          `  checkpoint: ${proof.checkpoint.checkpoint.origin} at ${proof.checkpoint.checkpoint.time}${proof.checkpoint.signature ? ` signed (${proof.checkpoint.signature.alg})` : ' (unsigned)'}`,
        );
        context.print(`  audit path (${proof.path.length} hashes, leaf to root):`);
        for (const h of proof.path) context.print(`    ${h}`);
      },
    );
};

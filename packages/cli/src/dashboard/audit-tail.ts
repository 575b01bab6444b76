import { open } from 'node:fs/promises';

/**
 * Options of {@link readAuditTail}.
 *
 * @internal
 */
export interface AuditTailOptions {
  /** Most bytes read from the end of the file. Default 256 KiB. */
  readonly maxBytes?: number;
  /** Most events returned. Default 100. */
  readonly limit?: number;
}

/** The fields of an audit event the dashboard lists. */
export interface AuditTailEvent {
  readonly id: string;
  readonly time: string;
  readonly type: string;
  readonly outcome: string;
  readonly severity: string;
  readonly actor: { readonly type: string; readonly id: string };
  readonly subject?: { readonly type: string; readonly id: string };
  readonly reason?: string;
  readonly details?: unknown;
}

const str = (v: unknown): v is string => typeof v === 'string';

function asEvent(value: unknown): AuditTailEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const actor = v.actor as Record<string, unknown> | undefined;
  if (
    !str(v.schema_version) ||
    !str(v.id) ||
    !str(v.time) ||
    !str(v.type) ||
    !str(v.outcome) ||
    !str(v.severity) ||
    typeof actor !== 'object' ||
    actor === null ||
    !str(actor.type) ||
    !str(actor.id)
  )
    return null;
  const subject = v.subject as Record<string, unknown> | undefined;
  return {
    id: v.id,
    time: v.time,
    type: v.type,
    outcome: v.outcome,
    severity: v.severity,
    actor: { type: actor.type, id: actor.id },
    ...(typeof subject === 'object' && subject !== null && str(subject.type) && str(subject.id)
      ? { subject: { type: subject.type, id: subject.id } }
      : {}),
    ...(str(v.reason) ? { reason: v.reason } : {}),
    ...(v.details === undefined ? {} : { details: v.details }),
  };
}

/**
 * Reads the most recent events of an audit log, newest first: the last `maxBytes` of the file
 * (so the cost is bounded whatever the log's size), one JSON line per event for a plain log,
 * `{"seq","prev","event"}` record lines for a transparency log (checkpoints are skipped, and so
 * is any line that is not an audit event). A missing file has no events. The events were
 * redacted before they were written.
 *
 * @example
 * ```ts
 * const events = await readAuditTail('/var/log/plumbline/audit.log', { limit: 50 });
 * ```
 * @throws the file system's error for anything but a missing file.
 * @internal
 */
export async function readAuditTail(
  path: string,
  options: AuditTailOptions = {},
): Promise<AuditTailEvent[]> {
  const maxBytes = Math.max(1, options.maxBytes ?? 256 * 1024);
  const limit = Math.max(0, options.limit ?? 100);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  let text: string;
  let partial: boolean;
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const start = size - length;
    // One byte more, before the window, tells whether its first line starts at the window's start.
    const lead = start > 0 ? 1 : 0;
    const buffer = Buffer.alloc(length + lead);
    const { bytesRead } = await handle.read(buffer, 0, length + lead, start - lead);
    partial = lead === 1 && buffer[0] !== 0x0a;
    text = buffer.subarray(lead, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  const lines = text.split('\n');
  // The first line is cut when the read did not start at the beginning of the file.
  if (partial) lines.shift();
  const events: AuditTailEvent[] = [];
  for (let i = lines.length - 1; i >= 0 && events.length < limit; i--) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const record = value as { event?: unknown } | null;
    const event =
      asEvent(value) ??
      (typeof record === 'object' && record !== null ? asEvent(record.event) : null);
    if (event !== null) events.push(event);
  }
  return events;
}

/**
 * Small parts the dashboard's views share: the state badge, times, and JSON requests with the
 * token (never in the URL).
 *
 * @packageDocumentation
 */
import { h } from 'preact';
import { formatDuration, type NodeState } from './model.js';

export const LABELS: Readonly<Record<NodeState, string>> = {
  in_sync: 'in sync',
  drift: 'drift',
  pending: 'pending',
  rejected: 'rejected',
  unknown: 'unknown',
  stale: 'stale',
  disconnected: 'disconnected',
  never_seen: 'never seen',
  awaiting_report: 'awaiting report',
  reload_pending: 'reload pending',
  probe_failing: 'probe failing',
};

/** A table head of column headers (`<th scope="col">`), one per label. */
export function columnHeads(...labels: string[]) {
  return h(
    'thead',
    null,
    h(
      'tr',
      null,
      labels.map((label) => h('th', { key: label, scope: 'col' }, label)),
    ),
  );
}

export function StateBadge({ state }: { state: NodeState }) {
  return h('span', { class: `badge state-${state}` }, LABELS[state]);
}

export function time(iso: string | null): string {
  if (iso === null) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { timeZoneName: 'short' });
}

export function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  return `${formatDuration(now - Date.parse(iso))} ago`;
}

/** GETs a fleet API document with the token (never in the URL). */
export async function getJson(
  token: string,
  path: string,
  signal: AbortSignal,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(path, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    cache: 'no-store',
    signal,
  });
  let body: unknown = null;
  try {
    body = await response.json();
  } catch (error) {
    // Cancelled while the body was read: the read is over, not answered with no body.
    if (signal.aborted) throw error;
    body = null;
  }
  return { status: response.status, body };
}

/** Sends a JSON body with the token; answers the status and the parsed body (`null` if none). */
export async function sendJson(
  token: string,
  method: 'PUT' | 'POST',
  path: string,
  body: string,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'content-type': 'application/json',
    },
    cache: 'no-store',
    body,
  });
  let parsed: unknown = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

/** The message of an API error body (`CODE: message`), or the HTTP status. */
export function errorText(status: number, body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return error?.code === undefined ? `HTTP ${status}` : `${error.code}: ${error.message ?? ''}`;
}

import type { DigestString } from '@plumbline/core/hash';
import type { DriftIdentity } from '@plumbline/core/drift';

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A distinct, well-formed digest per label. */
export function hash(label: string | number): DigestString {
  const hex = Array.from(String(label))
    .map((c) => c.charCodeAt(0).toString(16).padStart(2, '0'))
    .join('');
  return `sha256:${hex.padEnd(64, '0').slice(0, 64)}` as DigestString;
}

export const A = hash('a');
export const B = hash('b');
export const C = hash('c');

export function identity(node_id: string, cluster = 'prod'): DriftIdentity {
  return { node_id, cluster, principal: `token:${node_id}` };
}

/** Lets queued microtasks (the in-memory transport) run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DriftCloseCode } from '@plumbline/core/drift';

// docs/protocol.md's close-code table is the contract independent data planes implement: it lists
// every close code of the protocol, and only those.
const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');
const errors = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

function table(): Map<number, string[]> {
  const section = doc.split('## Session rules and close codes')[1]!.split('\n## ')[0]!;
  const rows = new Map<number, string[]>();
  for (const line of section.split('\n')) {
    const match = /^\|\s*(\d{4})\s*\|[^|]*\|([^|]*)\|/.exec(line);
    if (match !== null) {
      rows.set(
        Number(match[1]),
        [...match[2]!.matchAll(/`(PLB_[A-Z_]+)`/g)].map((m) => m[1]!),
      );
    }
  }
  return rows;
}

describe('docs/protocol.md close codes', () => {
  it('lists exactly the protocol’s close codes', () => {
    expect([...table().keys()].sort()).toEqual(Object.values(DriftCloseCode).sort());
  });

  it('names only documented error codes', () => {
    for (const [code, plb] of table()) {
      for (const name of plb) expect(errors, `${code} ${name}`).toContain(`| \`${name}\``);
    }
  });

  it('pairs each refusal with the close code the control plane sends', () => {
    // The pairs serveDrift and the monitor use (drift/server.ts, drift/monitor/sessions.ts).
    const sent: [number, string][] = [
      [1001, 'PLB_DRIFT_SHUTDOWN'],
      [1009, 'PLB_DRIFT_FRAME_TOO_BIG'],
      [1011, 'PLB_DRIFT_TRANSPORT_FAULT'],
      [4400, 'PLB_DRIFT_MALFORMED'],
      [4400, 'PLB_DRIFT_OUT_OF_ORDER'],
      [4400, 'PLB_DRIFT_UNSUPPORTED_PROTOCOL'],
      [4403, 'PLB_DRIFT_IDENTITY_MISMATCH'],
      [4403, 'PLB_DRIFT_NAME_COLLISION'],
      [4408, 'PLB_DRIFT_HELLO_TIMEOUT'],
      [4409, 'PLB_DRIFT_REPLACED'],
      [4429, 'PLB_DRIFT_FLEET_FULL'],
    ];
    const rows = table();
    for (const [close, code] of sent) expect(rows.get(close), `${close} ${code}`).toContain(code);
  });
});

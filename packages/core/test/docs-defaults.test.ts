import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CBOR_LIMITS } from '../src/cbor/index.js';
import { DEFAULT_VERIFIER_TIMEOUT_MS } from '@plumbline/core/verify';

// Defaults the core README and docs/errors.md quote, compared with the exported constants.
const doc = (path: string): string =>
  readFileSync(new URL(path, import.meta.url), 'utf8').replace(/\s+/g, ' ');

describe('core defaults quoted in the docs', () => {
  it('verifierTimeoutMs (core README)', () => {
    expect(doc('../README.md')).toContain(
      `\`verifierTimeoutMs\` (default ${DEFAULT_VERIFIER_TIMEOUT_MS / 1000} s)`,
    );
  });

  it('the CBOR expansion bound (docs/errors.md PLB_LIMIT_MEMORY)', () => {
    expect(doc('../../../docs/errors.md')).toMatch(
      new RegExp(
        `\`PLB_LIMIT_MEMORY\` [^\\n]*\`maxExpansion\` \\(default ${DEFAULT_CBOR_LIMITS.maxExpansion}\\)`,
      ),
    );
  });
});

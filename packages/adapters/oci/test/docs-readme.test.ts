import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OCI_LAYOUT_LIMITS } from '../src/index.js';

// The README's `limits` row and the threat model quote the image-layout limits: read both and
// compare them with the defaults the verifier uses.
const doc = (path: string): string =>
  readFileSync(new URL(path, import.meta.url), 'utf8').replace(/\s+/g, ' ');
const readme = doc('../README.md');
const threatModel = doc('../../../../docs/threat-model.md');

/** 1048576 → "1 MiB", 4000000 → "4M", 1024 → "1024". */
function quoted(value: number): string[] {
  const forms = [String(value), value.toLocaleString('en-US')];
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (value >= size && value % size === 0) forms.push(`${value / size} ${unit}`);
  }
  if (value % 1_000_000 === 0) forms.push(`${value / 1_000_000}M`);
  return forms;
}

describe('the oci README', () => {
  it('quotes every default layout limit', () => {
    const row = /\| `limits` \|([^|]*)\|/.exec(readme)![1]!;
    const wrong: string[] = [];
    for (const [name, value] of Object.entries(DEFAULT_OCI_LAYOUT_LIMITS)) {
      const match = new RegExp(`\`${name}\` ([^,\`]+?)(?:,|$| \\()`).exec(row.trim());
      if (match === null || !quoted(value as number).includes(match[1]!.trim())) {
        wrong.push(`${name}: README ${match?.[1] ?? '(missing)'}, code ${value}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the threat model quotes the decompression bounds the verifier uses', () => {
    expect(threatModel).toContain(
      `\`maxDecompressionRatio\`, default ${DEFAULT_OCI_LAYOUT_LIMITS.maxDecompressionRatio} ×`,
    );
    expect(threatModel).toContain(
      `\`maxUncompressedBytes\`, default ${DEFAULT_OCI_LAYOUT_LIMITS.maxUncompressedBytes / 1024 ** 3} GiB`,
    );
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toCycloneDX } from '@plumbline/cyclonedx';
import { sampleHeader } from './fixtures.js';

// The README's options table: the defaults it quotes, read from the table and observed in what
// `toCycloneDX(header)` writes with no options.
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
function defaults(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of readme.matchAll(/^\|\s*`(\w+)`\s*\|\s*([^|]*?)\s*\|/gm)) {
    rows.set(match[1]!, match[2]!.replace(/^`|`$/g, ''));
  }
  return rows;
}

describe('the cyclonedx README', () => {
  it('quotes the defaults toCycloneDX uses', async () => {
    const d = defaults();
    const text = await toCycloneDX(
      sampleHeader({
        provenance: { ...sampleHeader().provenance, source: 'plumbline-dev/sample-gateway' },
      }),
    );
    // format json, indentation `space`
    const bom = JSON.parse(text) as { specVersion: string };
    expect(d.get('format')).toBe('json');
    expect(text.split('\n')[1]).toMatch(new RegExp(`^ {${Number(d.get('space'))}}"`));
    expect(bom.specVersion).toBe(d.get('specVersion'));
    // An owner/repo source is resolved against sourceBaseUrl.
    expect(text).toContain(`${d.get('sourceBaseUrl')}/plumbline-dev/sample-gateway`);
    expect(d.get('maxInputs')).toBe('1,000,000');
    expect(d.get('validate')).toBe('false');
  });

  it('refuses more inputs than the default maxInputs (1,000,000)', async () => {
    const base = sampleHeader();
    const input = base.inputs[0]!;
    const inputs = Array.from({ length: 1_000_001 }, (_, i) => ({ ...input, path: `f/${i}` }));
    await expect(toCycloneDX({ ...base, inputs })).rejects.toMatchObject({
      code: 'PLB_SBOM_LIMIT',
    });
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const css = readFileSync(new URL('../src/style.css', import.meta.url), 'utf8');

/** The value of a custom property of `:root`. */
function variable(name: string): string {
  const m = new RegExp(`--${name}:\\s*(#[0-9a-f]{6})`, 'i').exec(css);
  if (m === null) throw new Error(`no --${name} in style.css`);
  return m[1]!;
}

/** WCAG 2 relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('colour contrast of the stylesheet', () => {
  it('keeps every text and background pair the page uses at WCAG AA (4.5:1) or better', () => {
    const v = variable;
    const pairs: [string, string, string][] = [
      ['text', v('fg'), v('bg')],
      ['text on cards', v('fg'), v('card')],
      ['muted text', v('muted'), v('bg')],
      ['muted text on cards', v('muted'), v('card')],
      ['links and focus', v('focus'), v('card')],
      ['in sync', v('ok'), v('card')],
      ['pending, stale', v('warn'), v('card')],
      ['drift', v('bad'), '#fff0f0'],
      ['live', v('ok'), '#d7f5df'],
      ['connecting', v('warn'), '#fff1cc'],
      ['disconnected', v('bad'), '#ffd9d9'],
      ['header', '#ffffff', '#14213d'],
      ['sign in button', '#ffffff', v('focus')],
      ['table headings', v('fg'), '#eef1f5'],
    ];
    for (const [, , bg] of pairs) expect(css.toLowerCase()).toContain(bg.toLowerCase());
    const failing = pairs.filter(([, fg, bg]) => contrast(fg, bg) < 4.5).map(([name]) => name);
    expect(failing).toEqual([]);
    // The check itself distinguishes: light grey on white fails.
    expect(contrast('#999999', '#ffffff')).toBeLessThan(4.5);
  });
});

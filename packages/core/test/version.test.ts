import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SDK_ID, SDK_VERSION } from '@plumbline/core';

describe('SDK_VERSION', () => {
  it("equals the package's version", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(SDK_VERSION).toBe(pkg.version);
    expect(SDK_ID).toBe(`@plumbline/core@${pkg.version}`);
  });
});

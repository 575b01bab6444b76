import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const fixture = (path: string) =>
  readFileSync(new URL(`../fixtures/gateway-config/${path}`, import.meta.url));

describe('the sample gateway configuration', () => {
  it('has a real WebAssembly plugin that validates, instantiates and runs', async () => {
    const bytes = fixture('plugins/rate-limit.wasm');
    expect(WebAssembly.validate(bytes)).toBe(true);
    const { instance } = await WebAssembly.instantiate(bytes);
    const allow = instance.exports.allow as (count: number) => number;
    expect(allow(0)).toBe(1);
    expect(allow(99)).toBe(1);
    expect(allow(100)).toBe(0);
    expect(allow(-1)).toBe(0); // unsigned comparison: a negative count is never allowed
  });

  it('has OpenAPI 3.1 specs and parseable configs', () => {
    for (const spec of ['users', 'orders', 'payments']) {
      expect(fixture(`specs/${spec}.openapi.yaml`).toString('utf8')).toMatch(/^openapi: 3\.1\.0\n/);
    }
    const routes = JSON.parse(fixture('routes.json').toString('utf8')) as { routes: unknown[] };
    expect(routes.routes).toHaveLength(3);
    const gateway = fixture('gateway.yaml').toString('utf8');
    expect(gateway).toContain('module: plugins/rate-limit.wasm');
  });
});

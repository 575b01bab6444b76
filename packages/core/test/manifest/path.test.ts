import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { caseFoldKey, validateManifestPath } from '@plumbline/core/manifest';

describe('validateManifestPath', () => {
  it.each([
    'a',
    'specs/users.yaml',
    '.env',
    'a/.hidden/b',
    'caf\u00e9.yaml',
    '\u{1f600}/x',
    'a..b',
    '...',
    'with space/and-dash_1.json',
  ])('accepts %j', (path) => {
    expect(() => validateManifestPath(path)).not.toThrow();
  });

  it.each([
    ['', 'PLB_PATH_INVALID'],
    ['a//b', 'PLB_PATH_INVALID'],
    ['./a', 'PLB_PATH_INVALID'],
    ['a/./b', 'PLB_PATH_INVALID'],
    ['a/', 'PLB_PATH_INVALID'],
    ['a\0b', 'PLB_PATH_INVALID'],
    ['a\\b', 'PLB_PATH_INVALID'],
    ['cafe\u0301.yaml', 'PLB_PATH_INVALID'],
    ['a\ud800', 'PLB_PATH_INVALID_UTF8'],
    ['/etc/passwd', 'PLB_PATH_ESCAPE'],
    ['C:/x', 'PLB_PATH_ESCAPE'],
    ['..', 'PLB_PATH_ESCAPE'],
    ['a/../b', 'PLB_PATH_ESCAPE'],
    ['a/..', 'PLB_PATH_ESCAPE'],
  ])('refuses %j with %s naming the path', (path, code) => {
    expect(() => validateManifestPath(path)).toThrow(
      expect.objectContaining({ code, details: { path } }),
    );
  });

  it('refuses a non-string', () => {
    expect(() => validateManifestPath(undefined as unknown as string)).toThrow(
      expect.objectContaining({ code: 'PLB_PATH_INVALID' }),
    );
  });

  it('either accepts a path or throws a coded error, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (path) => {
        try {
          validateManifestPath(path);
          expect(path.normalize('NFC')).toBe(path);
          expect(path.split('/')).not.toContain('..');
        } catch (error) {
          expect((error as { code: string }).code).toMatch(/^PLB_PATH_/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('folds case for collision detection', () => {
    expect(caseFoldKey('Specs/Users.YAML')).toBe(caseFoldKey('specs/users.yaml'));
    expect(caseFoldKey('a')).not.toBe(caseFoldKey('b'));
  });
});

import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, test } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const eslint = new ESLint({ cwd: root });

/** The rule ids ESLint reports for `code` placed at `file` (relative to the repository root). */
async function violations(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('the architecture rules of eslint.config.js', () => {
  test.each([
    ['core imports an adapter', 'packages/core/src/hash/x.ts', "import '@plumbline/ws';"],
    ['core imports the CLI', 'packages/core/src/drift/x.ts', "import '@plumbline/cli';"],
    [
      'an adapter imports another',
      'packages/adapters/oci/src/x.ts',
      "import '@plumbline/sigstore';",
    ],
    [
      "a test imports another package's test/",
      'packages/cli/test/x.test.ts',
      "import '../../adapters/ws/test/pki.js';",
    ],
    [
      'shipped code imports the testkit',
      'packages/cli/src/x.ts',
      "import '@plumbline/testkit/pki';",
    ],
  ])('%s: refused', async (_name, file, code) => {
    expect(await violations(file, `${code}\nexport {};\n`)).toContain(
      'import-x/no-restricted-paths',
    );
  });

  test.each(["import { readFileSync } from 'node:fs';", "import { join } from 'path';"])(
    'runtime-neutral core imports a Node built-in (%s): refused',
    async (code) => {
      expect(await violations('packages/core/src/hash/x.ts', `${code}\nexport {};\n`)).toContain(
        'no-restricted-imports',
      );
    },
  );

  test('the allowed directions pass', async () => {
    expect(
      await violations('packages/core/src/node/x.ts', "import 'node:fs';\nexport {};\n"),
    ).toEqual([]);
    expect(
      await violations(
        'packages/adapters/ws/src/x.ts',
        "import '@plumbline/core/drift';\nexport {};\n",
      ),
    ).toEqual([]);
    expect(
      await violations(
        'packages/cli/test/x.test.ts',
        "import '@plumbline/testkit/pki';\nexport {};\n",
      ),
    ).toEqual([]);
  });
});

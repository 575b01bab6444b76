// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The architecture (docs/architecture.md), enforced: core imports no adapter, CLI, dashboard or
// example code; no adapter imports another adapter or the CLI; the runtime-neutral part of core
// (everything but src/node/) imports no Node built-in; no file imports another package's test/
// folder (shared test helpers live in the private @plumbline/testkit package's exports, integrators'
// test doubles in @plumbline/core/testing); no import cycles in src/.
const adapters = ['barbacane', 'cyclonedx', 'oci', 'postgres', 'sigstore', 'ws'];
const packages = [
  'packages/core',
  'packages/cli',
  'packages/dashboard',
  'packages/examples',
  'packages/testkit',
  ...adapters.map((name) => `packages/adapters/${name}`),
];
const applications = ['./packages/cli', './packages/dashboard', './packages/examples'];
const architectureZones = [
  {
    target: './packages/core',
    from: ['./packages/adapters', ...applications],
    message: 'core is the contract: it imports no adapter, CLI, dashboard or example code.',
  },
  ...adapters.map((name) => ({
    target: `./packages/adapters/${name}`,
    from: [
      ...adapters.filter((other) => other !== name).map((other) => `./packages/adapters/${other}`),
      ...applications,
    ],
    message:
      'an adapter depends on core and its own outside library only, never on another adapter or the CLI.',
  })),
  ...packages.map((pkg) => ({
    target: `./${pkg}/src`,
    from: './packages/testkit',
    message: 'test helpers are for tests: shipped code never imports @plumbline/testkit.',
  })),
  ...packages.map((pkg) => ({
    target: `./${pkg}`,
    from: packages.filter((other) => other !== pkg).map((other) => `./${other}/test`),
    message:
      "another package's test/ folder is not an API: shared test helpers live in an exported testing entry.",
  })),
];
const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      'docs/api/**',
      'temp/**',
      '.cache/**',
      'packages/cli/ui/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        Request: 'readonly',
        Response: 'readonly',
        Headers: 'readonly',
        fetch: 'readonly',
        crypto: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ThrowStatement > Literal[value=/./]',
          message: 'Throw a PlumblineError, never a string.',
        },
      ],
    },
  },
  {
    files: ['packages/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: './tsconfig.json',
          conditionNames: ['@plumbline/source', 'types', 'import', 'node', 'default'],
        }),
      ],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: architectureZones }],
    },
  },
  {
    files: ['packages/*/src/**/*.ts', 'packages/adapters/*/src/**/*.ts'],
    plugins: { 'import-x': importX },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/node/**', 'packages/core/src/*/node/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'runtime-neutral core uses Web APIs only; Node-only code lives in src/node/.',
          })),
        },
      ],
    },
  },
  {
    files: ['**/test/**', 'bench/**', 'scripts/**', 'packages/examples/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);

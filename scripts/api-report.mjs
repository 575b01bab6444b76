#!/usr/bin/env node
// Runs api-extractor over every public entry point (each subpath export) of every published
// package. --check fails when a report differs from the committed one; --update rewrites them.
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv.includes('--update') ? 'update' : 'check';
const base = JSON.parse(readFileSync(join(root, 'api-extractor.json'), 'utf8'));
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces;

let failed = 0;
let checked = 0;
for (const ws of workspaces) {
  const dir = join(root, ws);
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  if (pkg.private || !pkg.exports) continue;
  const unscoped = pkg.name.split('/').pop();
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || !target.types) continue;
    const entry = join(dir, target.types);
    if (!existsSync(entry)) {
      console.error(
        `api-report: ${pkg.name}${subpath.slice(1)}: ${target.types} is missing; run npm run build first`,
      );
      failed++;
      continue;
    }
    const reportName =
      subpath === '.' ? unscoped : `${unscoped}-${subpath.slice(2).replace(/\//g, '-')}`;
    const configObject = {
      ...base,
      projectFolder: dir,
      mainEntryPointFilePath: entry,
      apiReport: { ...base.apiReport, reportFileName: `${reportName}.api.md` },
      compiler: {
        ...base.compiler,
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2023', 'DOM', 'DOM.Iterable'],
            types: ['node'],
            strict: true,
            skipLibCheck: true,
          },
          files: [entry],
        },
      },
    };
    delete configObject['//'];
    delete configObject.$schema;
    mkdirSync(join(dir, 'etc'), { recursive: true });
    const config = ExtractorConfig.prepare({
      configObject,
      configObjectFullPath: join(root, 'api-extractor.json'),
      packageJsonFullPath: pkgPath,
    });
    const result = Extractor.invoke(config, {
      localBuild: mode === 'update',
      showVerboseMessages: false,
      messageCallback(message) {
        if (message.logLevel === 'warning' || message.logLevel === 'error') {
          console.error(`api-report: ${pkg.name}${subpath.slice(1)}: ${message.text}`);
        }
        message.handled = true;
      },
    });
    checked++;
    if (!result.succeeded && !(mode === 'update' && result.errorCount === 0)) {
      failed++;
      if (result.apiReportChanged) {
        console.error(
          `api-report: ${pkg.name}${subpath.slice(1)}: the public API differs from etc/${reportName}.api.md; run npm run api:update and commit the report`,
        );
      }
    }
  }
}
console.log(`api-report: ${checked} entry points, ${failed} failing (${mode})`);
process.exit(failed > 0 ? 1 : 0);

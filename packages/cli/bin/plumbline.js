#!/usr/bin/env node
// The `plumbline` command. It runs the built CLI (dist/bin.js). In a clone of the repository that
// has not been built, it runs the CLI's sources instead, through tsx, with workspace packages
// resolved to their sources (the `@plumbline/source` export condition), so `plumbline` works right
// after `npm ci`. This file is plain JavaScript so that npm can link it at install time, before
// any build.
import { existsSync } from 'node:fs';
import module, { register } from 'node:module';

// Node >= 22.1 keeps the compiled code of the modules it loads between runs (in the system's
// temporary directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Older Node has no such cache.
module.enableCompileCache?.();

const built = new URL('../dist/bin.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const conditions = `export async function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...context.conditions, '@plumbline/source'] });
  }`;
  const tsx = await import('tsx/esm/api');
  tsx.register();
  register(`data:text/javascript,${encodeURIComponent(conditions)}`);
  await import(new URL('../src/bin.ts', import.meta.url).href);
}

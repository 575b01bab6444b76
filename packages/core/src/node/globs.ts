import { createRequire } from 'node:module';
import type picomatchType from 'picomatch';

/** A compiled glob: whether a manifest path matches. @internal */
export type GlobMatcher = picomatchType.Matcher;

let picomatch: typeof picomatchType | undefined;

/**
 * Compiles globs over manifest paths with picomatch (dotfiles match), loading picomatch on first
 * use: a walk without include, exclude or role globs (the usual `plumbline manifest dir/`) does
 * not pay for loading it at start-up.
 *
 * @internal
 */
export function compileGlobs(patterns: string | readonly string[]): GlobMatcher {
  picomatch ??= createRequire(import.meta.url)('picomatch') as typeof picomatchType;
  return picomatch(typeof patterns === 'string' ? patterns : [...patterns], { dot: true });
}

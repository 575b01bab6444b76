import { PlumblineError } from '../errors.js';
import type { BuilderInfo, Provenance } from './types.js';
import { credentialInUrl, hasControlCharacter } from './strings.js';

/**
 * Provenance as a caller gives it to `createHeader`: like {@link Provenance}, with `commit` in
 * either case (it is stored in lowercase).
 *
 * @public
 */
export interface ProvenanceInput {
  /** Git object id, 40 (SHA-1) or 64 (SHA-256) hex characters. */
  readonly commit?: string | undefined;
  /** Repository URL (`https://`, `ssh://`, `git://`, without credentials) or `owner/repo`. */
  readonly source?: string | undefined;
  /** Git ref, e.g. `refs/heads/main` or `main`. */
  readonly ref?: string | undefined;
  /** The tool that built the artifact. */
  readonly builder: BuilderInfo;
  /** A link to the build, `https://` or `http://`, without credentials. */
  readonly build_url?: string | undefined;
}

function invalid(field: string, why: string): never {
  // The value itself is not echoed: a URL with a token in it must not reach logs.
  throw new PlumblineError('PLB_PROVENANCE_INVALID', `provenance ${field}: ${why}`, {
    details: { field },
  });
}

const OWNER_REPO = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;
const SOURCE_PROTOCOLS = new Set(['https:', 'http:', 'ssh:', 'git:', 'git+https:', 'git+ssh:']);

const hasControl = hasControlCharacter;

/** A provenance value must not hold control characters nor store a credential. */
function checkText(field: string, value: string): void {
  if (hasControl(value)) invalid(field, 'a control character');
  const credential = credentialInUrl(value);
  if (credential !== undefined) {
    invalid(field, `the value carries ${credential}; no credential may be stored in a header`);
  }
}

function checkUrl(field: string, value: string, protocols: ReadonlySet<string>): void {
  checkText(field, value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(field, 'not a URL');
  }
  if (!protocols.has(url.protocol)) invalid(field, `the scheme ${url.protocol} is not allowed`);
  if (url.password !== '') invalid(field, 'the URL carries a password');
  if (url.username !== '' && !url.protocol.includes('ssh')) {
    invalid(field, 'the URL carries credentials');
  }
  if (url.hostname === '') invalid(field, 'the URL has no host');
}

/**
 * Validates a commit id: 40 or 64 hex characters. Returns it in lowercase.
 *
 * @throws {@link PlumblineError} `PLB_PROVENANCE_INVALID`.
 * @internal
 */
export function normalizeCommit(commit: string): string {
  if (!/^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(commit)) {
    invalid('commit', 'a git object id has 40 or 64 hex characters');
  }
  return commit.toLowerCase();
}

/**
 * Validates a source: a URL without credentials or `owner/repo` (`group/sub/repo` too).
 *
 * @throws {@link PlumblineError} `PLB_PROVENANCE_INVALID`.
 * @internal
 */
export function checkSource(source: string): void {
  if (source.length === 0 || source.length > 2048) invalid('source', 'empty or longer than 2048');
  checkText('source', source);
  if (OWNER_REPO.test(source)) {
    if (source.split('/').some((s) => s === '.' || s === '..'))
      invalid('source', 'a "." or ".." segment');
    return;
  }
  if (!source.includes('://')) invalid('source', 'neither a URL nor owner/repo');
  checkUrl('source', source, SOURCE_PROTOCOLS);
}

/**
 * Validates a git ref name (a subset of `git check-ref-format`).
 *
 * @throws {@link PlumblineError} `PLB_PROVENANCE_INVALID`.
 * @internal
 */
export function checkRef(ref: string): void {
  if (ref.length === 0 || ref.length > 1024) invalid('ref', 'empty or longer than 1024');
  if (hasControl(ref) || /[\s~^:?*[\\]/.test(ref))
    invalid('ref', 'a space, control or special character');
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//'))
    invalid('ref', 'a "..", "@{" or "//"');
  if (ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock')) {
    invalid('ref', 'a leading or trailing "/", a trailing "." or ".lock"');
  }
}

/**
 * Validates and normalizes provenance for a new header: commit (lowercased), source, ref,
 * builder, build URL. Absent optional fields stay absent.
 *
 * @example
 * ```ts
 * normalizeProvenance({ commit: 'A'.repeat(40), source: 'acme/gateway', builder: { id: 'ci', version: '1' } });
 * ```
 * @throws {@link PlumblineError} `PLB_PROVENANCE_INVALID` naming the field (never the value).
 * @public
 */
export function normalizeProvenance(input: ProvenanceInput): Provenance {
  const { builder } = input;
  if (typeof builder !== 'object' || builder === null) invalid('builder', 'missing');
  for (const [key, max] of [
    ['id', 512],
    ['version', 128],
  ] as const) {
    const v = builder[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max || hasControl(v)) {
      invalid(
        `builder.${key}`,
        `a non-empty string of at most ${max} characters without control characters`,
      );
    }
    checkText(`builder.${key}`, v);
  }
  const out: Record<string, unknown> = { builder: { id: builder.id, version: builder.version } };
  if (input.commit !== undefined) out['commit'] = normalizeCommit(input.commit);
  if (input.source !== undefined) {
    checkSource(input.source);
    out['source'] = input.source;
  }
  if (input.ref !== undefined) {
    checkRef(input.ref);
    out['ref'] = input.ref;
  }
  if (input.build_url !== undefined) {
    checkUrl('build_url', input.build_url, new Set(['https:', 'http:']));
    out['build_url'] = input.build_url;
  }
  return out as unknown as Provenance;
}

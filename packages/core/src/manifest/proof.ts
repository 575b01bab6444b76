import * as z from 'zod/mini';
import { describeIssue } from '../schema-issue.js';
import { PlumblineError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { formatDigest, parseDigest, type DigestString } from '../hash/digest.js';
import { verifyInclusionOfInput } from '../merkle/verify.js';
import { leafInputOf, manifestTree } from './from-entries.js';
import type { Manifest } from './types.js';

/**
 * A self-contained proof that one file belongs to a manifest: the entry, its position, the RFC 9162
 * audit path (lowercase hex, leaf to root) and the root. Anyone can check it without the manifest.
 *
 * @public
 */
export interface EntryProof {
  /** The entry's path, as in the manifest (relative, `/`-separated, NFC). */
  readonly path: string;
  /** The entry's SHA-256, as a digest string (`sha256:<hex>`). */
  readonly digest: DigestString;
  /** The entry's 0-based position in the manifest's sorted entries (its leaf index). */
  readonly leaf_index: number;
  /** Number of entries (leaves) in the manifest's tree; at least 1. */
  readonly tree_size: number;
  /** RFC 9162 audit path from the leaf to the root, as lowercase hex hashes (64 at most). */
  readonly audit_path: readonly string[];
  /** The manifest's RFC 9162 root (its `artifact_hash`), as a digest string. */
  readonly root: DigestString;
}

/** Longest audit path accepted (enough for 2^64 entries). @public */
export const MAX_AUDIT_PATH = 64;

/**
 * The zod schema of an {@link EntryProof} document (strict: no unknown fields; a `zod/mini`
 * schema, so that bundles of the verify path stay small).
 *
 * @public
 */
export const entryProofSchema = z.strictObject({
  path: z.string().check(z.minLength(1), z.maxLength(4096)),
  digest: z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/)),
  leaf_index: z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)),
  tree_size: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  audit_path: z
    .array(z.string().check(z.regex(/^[0-9a-f]{64}$/)))
    .check(z.maxLength(MAX_AUDIT_PATH)),
  root: z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/)),
});

/**
 * Produces the inclusion proof of the entry at `path` in `manifest`. To prove many entries, build
 * {@link manifestTree} once and call `inclusionProof` on it (O(log n) each).
 *
 * @example
 * ```ts
 * import { proveEntry } from '@plumbline/core/manifest';
 * const proof = proveEntry(manifest, 'plugins/rate-limit.wasm');
 * console.log(proof.leaf_index, proof.audit_path.length);
 * ```
 * @throws {@link PlumblineError} `PLB_ENTRY_NOT_FOUND` when the manifest has no entry at `path`.
 * @public
 */
export function proveEntry(manifest: Pick<Manifest, 'entries'>, path: string): EntryProof {
  const wanted = path.normalize('NFC');
  const index = manifest.entries.findIndex((e) => e.path === wanted);
  if (index < 0) {
    throw new PlumblineError(
      'PLB_ENTRY_NOT_FOUND',
      `the manifest has no entry ${JSON.stringify(path)}`,
      {
        details: { path },
      },
    );
  }
  const tree = manifestTree(manifest);
  const entry = manifest.entries[index]!;
  return {
    path: entry.path,
    digest: entry.digest,
    leaf_index: index,
    tree_size: tree.size,
    audit_path: tree.inclusionProof(index).map(toHex),
    root: formatDigest(tree.root),
  };
}

/**
 * Checks an entry proof document's shape (strict schema, bounded audit path) and returns it typed.
 *
 * @example
 * ```ts
 * import { parseEntryProof, verifyEntryProof } from '@plumbline/core/manifest';
 * const ok = verifyEntryProof(parseEntryProof(JSON.parse(text)));
 * ```
 * @throws {@link PlumblineError} `PLB_PROOF_INVALID` naming the first offending field.
 * @public
 */
export function parseEntryProof(document: unknown): EntryProof {
  const result = entryProofSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.map(String).join('.');
    throw new PlumblineError(
      'PLB_PROOF_INVALID',
      `invalid proof${at ? ` at ${at}` : ''}: ${describeIssue(issue)}`,
      {
        details: { at },
      },
    );
  }
  return result.data as EntryProof;
}

/**
 * Options for {@link verifyEntryProof}.
 *
 * @public
 */
export interface VerifyEntryProofOptions {
  /** The root the caller trusts. Default: the proof's own `root` (which only shows consistency). */
  readonly root?: DigestString;
  /**
   * The tree size the caller trusts (the manifest's entry count). An inclusion proof does not bind
   * its own `tree_size`: several sizes fit one audit path (see `inclusionTreeSizes`). Given, the
   * proof is checked against this size instead of the one it claims.
   */
  readonly treeSize?: number;
}

/**
 * Verifies an entry proof: recomputes the leaf (digest bytes, then the UTF-8 path) and checks the
 * audit path up to the root. Never throws: anything malformed or hostile is `false`. Pass the root
 * you trust in `options.root`; a proof whose own `root` differs from it is `false`.
 *
 * @example
 * ```ts
 * import { verifyEntryProof } from '@plumbline/core/manifest';
 * verifyEntryProof(proof, { root: 'sha256:…' }); // true or false
 * ```
 * @public
 */
export function verifyEntryProof(
  proof: EntryProof,
  options: VerifyEntryProofOptions = {},
): boolean {
  try {
    const checked = entryProofSchema.safeParse(proof);
    if (!checked.success) return false;
    if (options.root !== undefined && options.root !== proof.root) return false;
    return verifyInclusionOfInput({
      leafInput: leafInputOf({ path: proof.path, digest: proof.digest }),
      index: proof.leaf_index,
      treeSize: options.treeSize ?? proof.tree_size,
      path: proof.audit_path.map(fromHex),
      root: parseDigest(proof.root),
    });
  } catch {
    return false;
  }
}

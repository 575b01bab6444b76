/**
 * Barbacane project keys as the Plumbline control plane stores them: hashed, compared in
 * constant time, optionally bound to one node name.
 *
 * @packageDocumentation
 */
import { PlumblineError } from '@plumbline/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/**
 * One accepted Barbacane API key.
 *
 * @public
 */
export interface BarbacaneCredential {
  /** The Barbacane project id (UUID) the key belongs to. */
  readonly project_id: string;
  /** SHA-256 of the API key, 64 lowercase hex characters (see {@link hashBarbacaneKey}). */
  readonly key_sha256: string;
  /** The Plumbline cluster of the nodes using this key. Default: the project id. */
  readonly cluster?: string;
  /**
   * Binds the key to one node name: a data plane using it is that node (its `name` may be
   * omitted and must otherwise equal it), so it cannot pose as another node. Without a binding
   * the key is a project key and the node is named by `register.name` (required).
   */
  readonly node?: string;
  /** A non-secret label for logs and the audit trail. Default: the first 8 hex of the hash. */
  readonly label?: string;
}

/**
 * Hashes an API key for {@link BarbacaneCredential.key_sha256}.
 *
 * @example
 * ```ts
 * const key_sha256 = hashBarbacaneKey(process.env.BARBACANE_API_KEY!);
 * ```
 * @public
 */
export function hashBarbacaneKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NODE = /^[\x21-\x7e]{1,128}$/;

/**
 * Checks credentials (UUIDs, hashes, node names).
 *
 * @throws PlumblineError `PLB_BARBACANE_CREDENTIALS` naming the first bad entry (never the hash).
 * @internal
 */
export function checkCredentials(
  credentials: readonly BarbacaneCredential[],
): readonly BarbacaneCredential[] {
  credentials.forEach((c, i) => {
    const bad = (why: string): never => {
      throw new PlumblineError('PLB_BARBACANE_CREDENTIALS', `credential ${i}: ${why}`, {
        details: { index: i },
      });
    };
    if (typeof c.project_id !== 'string' || !UUID.test(c.project_id.toLowerCase())) {
      bad('project_id is not a UUID');
    }
    if (typeof c.key_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.key_sha256)) {
      bad('key_sha256 is not 64 lowercase hex characters');
    }
    if (c.node !== undefined && !NODE.test(c.node)) bad('node is not a node id');
    if (c.cluster !== undefined && !NODE.test(c.cluster)) bad('cluster is not a cluster id');
  });
  return credentials.map((c) => ({ ...c, project_id: c.project_id.toLowerCase() }));
}

/**
 * Finds the credential an API key matches for a project, comparing the key's hash with every
 * credential of the project in constant time (no early exit).
 *
 * @internal
 */
export function matchCredential(
  credentials: readonly BarbacaneCredential[],
  project_id: string,
  api_key: string,
): BarbacaneCredential | undefined {
  const presented = createHash('sha256').update(api_key, 'utf8').digest();
  const project = project_id.toLowerCase();
  let found: BarbacaneCredential | undefined;
  for (const credential of credentials) {
    const stored = Buffer.from(credential.key_sha256, 'hex');
    const equal = timingSafeEqual(presented, stored);
    if (equal && credential.project_id === project && found === undefined) found = credential;
  }
  return found;
}

/**
 * A stable data-plane id (UUID, version 8) for a node: the same across reconnects.
 *
 * @internal
 */
export function dataPlaneId(project_id: string, node_id: string): string {
  const h = createHash('sha256')
    .update(`plumbline.barbacane/v1\0${project_id}\0${node_id}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Reads a credentials file: a JSON array of {@link BarbacaneCredential} (at most 1 MiB). The
 * file holds only hashes of the API keys.
 *
 * @example
 * ```ts
 * const credentials = await loadBarbacaneCredentials('barbacane-keys.json');
 * ```
 * @throws PlumblineError `PLB_BARBACANE_CREDENTIALS` when the file is unreadable, too large, not
 *   JSON, or holds a bad entry.
 * @public
 */
export async function loadBarbacaneCredentials(file: string): Promise<BarbacaneCredential[]> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > 1024 * 1024) {
      throw new PlumblineError('PLB_BARBACANE_CREDENTIALS', `${file} is larger than 1 MiB`);
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (PlumblineError.is(error)) throw error;
    throw new PlumblineError('PLB_BARBACANE_CREDENTIALS', `cannot read ${file}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PlumblineError('PLB_BARBACANE_CREDENTIALS', `${file} is not JSON`, { cause: error });
  }
  if (!Array.isArray(json) || json.some((e) => typeof e !== 'object' || e === null)) {
    throw new PlumblineError(
      'PLB_BARBACANE_CREDENTIALS',
      `${file} must hold a JSON array of { project_id, key_sha256, cluster?, node?, label? }`,
    );
  }
  return [...checkCredentials(json as BarbacaneCredential[])];
}

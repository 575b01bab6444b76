import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { PlumblineError } from '@plumbline/core';
import type { DriftIdentity } from '@plumbline/core/drift';
import { parseSpiffeId, uriSans, type SpiffeId } from './spiffe.js';

/**
 * What an authenticator sees of a WebSocket upgrade request, before the upgrade completes.
 *
 * @public
 */
export interface UpgradeRequestInfo {
  /** The request headers (lowercase names). */
  readonly headers: IncomingHttpHeaders;
  /** The peer's address, for logs and audit. */
  readonly remoteAddress: string | undefined;
  /** Whether the TLS layer verified the client certificate against the configured CA. */
  readonly tlsAuthorized: boolean;
  /** The client certificate, when the connection is TLS and the client sent one. */
  readonly peerCertificate: PeerCertificate | undefined;
}

/**
 * The authenticated identity of a data-plane connection. It binds the session: a `hello` naming
 * another node or cluster is refused.
 *
 * @public
 */
export interface NodeIdentity extends DriftIdentity {
  /** How the node authenticated. */
  readonly method: 'token' | 'mtls';
  /**
   * An opaque handle on the credential used, so a reload of the credentials can close sessions
   * whose credential was revoked. Never logged.
   * @internal
   */
  readonly credential: string;
}

/**
 * Why an upgrade was refused by an authenticator.
 *
 * @public
 */
export type AuthFailureReason = 'missing_credentials' | 'invalid_credentials' | 'unknown_identity';

/**
 * The outcome of authenticating one upgrade request.
 *
 * @public
 */
export type AuthResult =
  | { readonly ok: true; readonly identity: NodeIdentity }
  | { readonly ok: false; readonly reason: AuthFailureReason };

/**
 * Authenticates data-plane WebSocket upgrades. The control-plane server calls it before the
 * upgrade completes and answers `401` when it fails.
 *
 * @public
 */
export interface NodeAuthenticator {
  /** Authenticates one upgrade request. Must not throw; a throw counts as a failure. */
  authenticate(request: UpgradeRequestInfo): AuthResult | Promise<AuthResult>;
  /**
   * Whether an identity established earlier is still valid (after a credential reload).
   * Sessions whose identity is no longer valid are closed with 4401.
   */
  isValid?(identity: NodeIdentity): boolean;
  /** Subscribes to credential reloads; returns the unsubscribe function. */
  onChange?(listener: () => void): () => void;
}

/**
 * One node's entry in the `--node-tokens` file: its cluster and the SHA-256 (lowercase hex) of its
 * token. During a rotation `token_sha256` may be an array of two hashes, both valid.
 *
 * @public
 */
export interface NodeTokenEntry {
  /** The cluster the node belongs to; a `hello` naming another cluster is refused. */
  readonly cluster: string;
  /**
   * The SHA-256 of the node's token as 64 lowercase hex characters (see {@link hashToken}), or an
   * array of one or two such hashes during a rotation.
   */
  readonly token_sha256: string | readonly string[];
}

/**
 * The `--node-tokens` document: node id to {@link NodeTokenEntry}.
 *
 * @public
 */
export type NodeTokens = Readonly<Record<string, NodeTokenEntry>>;

/**
 * Limits of {@link parseNodeTokens} and {@link createTokenAuthenticator}.
 *
 * @public
 */
export interface NodeTokenLimits {
  /** Most nodes in one tokens document (default 100,000). */
  readonly maxNodes?: number;
  /** Longest presented bearer token, in bytes (default 4096). */
  readonly maxTokenBytes?: number;
  /** Longest node id or cluster name, in characters (default 253). */
  readonly maxNameLength?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const DEFAULT_MAX_NODES = 100_000;
const DEFAULT_MAX_TOKEN_BYTES = 4096;
const DEFAULT_MAX_NAME = 253;

/**
 * The SHA-256 of a token (its UTF-8 bytes), as lowercase hex: the form kept in `--node-tokens`
 * files. `plumbline control-plane hash-token` prints the same value.
 *
 * @example
 * ```ts
 * import { hashToken } from '@plumbline/ws';
 * hashToken('s3cret'); // '…64 hex…'
 * ```
 * @public
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Whether a string is a usable node id or cluster name: starts with a letter or digit, then
 * letters, digits, `.`, `_`, `:` or `-`.
 *
 * @internal
 */
export function isValidName(name: string, maxLength = DEFAULT_MAX_NAME): boolean {
  return name.length > 0 && name.length <= maxLength && NAME.test(name);
}

/**
 * Validates a `--node-tokens` document (already parsed from JSON): every node id and cluster a
 * valid name, every `token_sha256` 64 lowercase hex characters (or an array of one or two during a
 * rotation), no token hash shared by two nodes.
 *
 * @example
 * ```ts
 * import { parseNodeTokens } from '@plumbline/ws';
 * const tokens = parseNodeTokens(JSON.parse(await readFile('node-tokens.json', 'utf8')));
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_NODE_TOKENS_INVALID` naming the node and the problem,
 *   `PLB_WS_NODE_TOKENS_LIMIT` for more nodes than allowed.
 * @public
 */
export function parseNodeTokens(value: unknown, limits: NodeTokenLimits = {}): NodeTokens {
  const maxNodes = limits.maxNodes ?? DEFAULT_MAX_NODES;
  const maxName = limits.maxNameLength ?? DEFAULT_MAX_NAME;
  const invalid = (where: string, why: string): PlumblineError =>
    new PlumblineError('PLB_WS_NODE_TOKENS_INVALID', `node tokens: ${where}: ${why}`, {
      details: { key: where },
    });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('(root)', 'expected an object of node id to { cluster, token_sha256 }');
  }
  const keys = Object.keys(value);
  if (keys.length > maxNodes) {
    throw new PlumblineError(
      'PLB_WS_NODE_TOKENS_LIMIT',
      `node tokens: ${keys.length} nodes, more than the limit of ${maxNodes}`,
      { details: { limit: maxNodes, count: keys.length } },
    );
  }
  const seen = new Map<string, string>();
  const out: Record<string, NodeTokenEntry> = {};
  for (const nodeId of keys) {
    if (!isValidName(nodeId, maxName)) throw invalid(JSON.stringify(nodeId), 'invalid node id');
    const entry = (value as Record<string, unknown>)[nodeId];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw invalid(`${nodeId}`, 'expected an object with cluster and token_sha256');
    }
    const { cluster, token_sha256: hashes } = entry as Record<string, unknown>;
    if (typeof cluster !== 'string' || !isValidName(cluster, maxName)) {
      throw invalid(`${nodeId}.cluster`, 'expected a cluster name');
    }
    const list = typeof hashes === 'string' ? [hashes] : hashes;
    if (!Array.isArray(list) || list.length < 1 || list.length > 2) {
      throw invalid(`${nodeId}.token_sha256`, 'expected a hex SHA-256 or an array of two');
    }
    for (const hash of list) {
      if (typeof hash !== 'string' || !HEX64.test(hash)) {
        throw invalid(`${nodeId}.token_sha256`, 'expected 64 lowercase hex characters');
      }
      const other = seen.get(hash);
      if (other !== undefined && other !== nodeId) {
        throw invalid(`${nodeId}.token_sha256`, `the same token hash is also used by ${other}`);
      }
      seen.set(hash, nodeId);
    }
    out[nodeId] = {
      cluster,
      token_sha256: typeof hashes === 'string' ? hashes : [...(list as string[])],
    };
  }
  return out;
}

/**
 * The bearer token of an `Authorization` header, or undefined.
 *
 * @internal
 */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1] : undefined;
}

/**
 * A {@link NodeAuthenticator} for per-node bearer tokens that can be reloaded.
 *
 * @public
 */
export interface TokenAuthenticator extends NodeAuthenticator {
  /** Replaces the token table (rotation, new nodes); sessions of revoked tokens are closed with 4401. */
  update(nodes: NodeTokens): void;
  /** How many nodes have tokens. */
  readonly size: number;
}

interface TokenRecord {
  readonly nodeId: string;
  readonly cluster: string;
  readonly hash: Buffer;
}

/**
 * Authenticates upgrades by `Authorization: Bearer <token>`. Tokens are held only as SHA-256
 * hashes; the presented token is hashed and the stored hash compared in constant time
 * (`crypto.timingSafeEqual`). Each node may have two valid tokens at once, for rotation.
 *
 * @example
 * ```ts
 * import { createTokenAuthenticator, hashToken } from '@plumbline/ws';
 * const auth = createTokenAuthenticator({
 *   nodes: { 'gw-1': { cluster: 'prod-eu', token_sha256: hashToken('token-of-gw-1') } },
 * });
 * ```
 * @throws {@link @plumbline/core!PlumblineError} `PLB_WS_NODE_TOKENS_INVALID` when the table is invalid.
 * @public
 */
export function createTokenAuthenticator(options: {
  readonly nodes: NodeTokens;
  readonly limits?: NodeTokenLimits;
}): TokenAuthenticator {
  const maxTokenBytes = options.limits?.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  let byHash = new Map<string, TokenRecord>();
  const listeners = new Set<() => void>();
  const dummy = Buffer.alloc(32);
  const load = (nodes: NodeTokens): void => {
    const valid = parseNodeTokens(nodes, options.limits);
    const next = new Map<string, TokenRecord>();
    for (const [nodeId, entry] of Object.entries(valid)) {
      const hashes =
        typeof entry.token_sha256 === 'string' ? [entry.token_sha256] : entry.token_sha256;
      for (const hex of hashes) {
        next.set(hex, { nodeId, cluster: entry.cluster, hash: Buffer.from(hex, 'hex') });
      }
    }
    byHash = next;
  };
  load(options.nodes);
  return {
    get size() {
      return new Set([...byHash.values()].map((r) => r.nodeId)).size;
    },
    authenticate(request) {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined) return { ok: false, reason: 'missing_credentials' };
      if (Buffer.byteLength(token, 'utf8') > maxTokenBytes) {
        return { ok: false, reason: 'invalid_credentials' };
      }
      const presented = createHash('sha256').update(token, 'utf8').digest();
      // The table is keyed by the presented token's SHA-256, which reveals nothing about stored
      // tokens; the final comparison is constant time either way.
      const record = byHash.get(presented.toString('hex'));
      const equal = timingSafeEqual(record?.hash ?? dummy, presented);
      if (!record || !equal) return { ok: false, reason: 'invalid_credentials' };
      return {
        ok: true,
        identity: {
          node_id: record.nodeId,
          cluster: record.cluster,
          method: 'token',
          principal: `node:${record.nodeId}`,
          credential: presented.toString('hex'),
        },
      };
    },
    isValid(identity) {
      if (identity.method !== 'token') return true;
      const record = byHash.get(identity.credential);
      return (
        record !== undefined &&
        record.nodeId === identity.node_id &&
        record.cluster === identity.cluster
      );
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    update(nodes) {
      load(nodes);
      for (const listener of listeners) listener();
    },
  };
}

/**
 * Options of {@link createMtlsAuthenticator}.
 *
 * @public
 */
export interface MtlsAuthenticatorOptions {
  /** Trust domains whose SPIFFE IDs are accepted (e.g. `'example.org'`). */
  readonly trustDomains: readonly string[];
  /**
   * Maps a SPIFFE ID to a node and cluster; `undefined` refuses it. The default accepts paths
   * `/cluster/<cluster>/node/<node_id>` (and, when `nodes` is given, `/node/<node_id>` with the
   * cluster taken from `nodes`).
   */
  readonly resolve?: (spiffeId: SpiffeId) => { nodeId: string; cluster: string } | undefined;
  /** Optional inventory: node id to cluster. When given, only these nodes are accepted. */
  readonly nodes?: Readonly<Record<string, { readonly cluster: string }>>;
}

/**
 * Authenticates upgrades by client certificate: the TLS layer must have verified the certificate
 * against the server's CA (`requestCert: true` on the https server), and the certificate must carry
 * exactly one SPIFFE URI SAN in an accepted trust domain. The node id comes from that SAN, never
 * from the client's messages.
 *
 * @example
 * ```ts
 * import { createMtlsAuthenticator } from '@plumbline/ws';
 * const auth = createMtlsAuthenticator({ trustDomains: ['example.org'] });
 * // accepts spiffe://example.org/cluster/prod-eu/node/gw-1 as gw-1 in prod-eu
 * ```
 * @public
 */
export function createMtlsAuthenticator(options: MtlsAuthenticatorOptions): NodeAuthenticator {
  const domains = new Set(options.trustDomains.map((d) => d.toLowerCase()));
  const nodes = options.nodes;
  const resolve =
    options.resolve ??
    ((id: SpiffeId): { nodeId: string; cluster: string } | undefined => {
      const s = id.segments;
      if (s.length === 4 && s[0] === 'cluster' && s[2] === 'node') {
        return { cluster: s[1]!, nodeId: s[3]! };
      }
      if (s.length === 2 && s[0] === 'node' && nodes) {
        const entry = nodes[s[1]!];
        return entry ? { cluster: entry.cluster, nodeId: s[1]! } : undefined;
      }
      return undefined;
    });
  return {
    authenticate(request) {
      const cert = request.peerCertificate;
      if (!cert || Object.keys(cert).length === 0)
        return { ok: false, reason: 'missing_credentials' };
      if (!request.tlsAuthorized) return { ok: false, reason: 'invalid_credentials' };
      const spiffe = uriSans(cert.subjectaltname).filter((u) => u.startsWith('spiffe://'));
      if (spiffe.length !== 1) return { ok: false, reason: 'unknown_identity' };
      let id: SpiffeId;
      try {
        id = parseSpiffeId(spiffe[0]!);
      } catch {
        return { ok: false, reason: 'unknown_identity' };
      }
      if (!domains.has(id.trustDomain)) return { ok: false, reason: 'unknown_identity' };
      const resolved = resolve(id);
      if (!resolved || !isValidName(resolved.nodeId) || !isValidName(resolved.cluster)) {
        return { ok: false, reason: 'unknown_identity' };
      }
      if (nodes) {
        const entry = nodes[resolved.nodeId];
        if (!entry || entry.cluster !== resolved.cluster)
          return { ok: false, reason: 'unknown_identity' };
      }
      return {
        ok: true,
        identity: {
          node_id: resolved.nodeId,
          cluster: resolved.cluster,
          method: 'mtls',
          principal: id.id,
          credential: id.id,
        },
      };
    },
  };
}

/**
 * Tries several authenticators in order (for example mTLS, then tokens during a migration) and
 * returns the first success; the failure reported is the most specific one seen.
 *
 * @example
 * ```ts
 * import { anyAuthenticator, createMtlsAuthenticator, createTokenAuthenticator } from '@plumbline/ws';
 * const auth = anyAuthenticator([createMtlsAuthenticator({ trustDomains: ['example.org'] }), tokens]);
 * ```
 * @public
 */
export function anyAuthenticator(authenticators: readonly NodeAuthenticator[]): NodeAuthenticator {
  const rank: Record<AuthFailureReason, number> = {
    missing_credentials: 0,
    unknown_identity: 1,
    invalid_credentials: 2,
  };
  return {
    async authenticate(request) {
      let worst: AuthFailureReason = 'missing_credentials';
      for (const auth of authenticators) {
        const result = await auth.authenticate(request);
        if (result.ok) return result;
        if (rank[result.reason] > rank[worst]) worst = result.reason;
      }
      return { ok: false, reason: worst };
    },
    isValid(identity) {
      return authenticators.every((a) => a.isValid?.(identity) ?? true);
    },
    onChange(listener) {
      const offs = authenticators.map((a) => a.onChange?.(listener));
      return () => {
        for (const off of offs) off?.();
      };
    },
  };
}

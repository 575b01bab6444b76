/** Media types by file extension for the inputs a gateway configuration is usually built from. */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  yaml: 'application/yaml',
  yml: 'application/yaml',
  json: 'application/json',
  wasm: 'application/wasm',
  toml: 'application/toml',
  xml: 'application/xml',
  graphql: 'application/graphql',
  proto: 'text/x-protobuf',
  js: 'text/javascript',
  mjs: 'text/javascript',
  lua: 'text/x-lua',
  rego: 'text/x-rego',
  txt: 'text/plain',
  md: 'text/markdown',
  pem: 'application/x-pem-file',
};

/**
 * The media type of a manifest path guessed from its extension, or `undefined` when unknown.
 *
 * @example
 * ```ts
 * mediaTypeOf('plugins/auth.wasm'); // 'application/wasm'
 * ```
 * @public
 */
export function mediaTypeOf(path: string): string | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}

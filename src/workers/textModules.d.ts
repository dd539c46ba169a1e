// wrangler bundles `.yaml` files as text modules (the `rules` in wrangler.toml); this tells
// TypeScript what such an import is.
declare module '*.yaml' {
  const text: string;
  export default text;
}

import type { ContentCoding } from '../Upstream.ts';

/** A route's `compress`, compiled: what it compresses, from what size, with which codings. */
export interface CompressSettings {
  /** Whether a response's media type (lower case, without parameters) is one to compress. */
  readonly compressesType: (mediaType: string) => boolean;
  /** The smallest `Content-Length` compressed, in bytes. */
  readonly minSize: number;
  /** The codings offered, most preferred first. */
  readonly codings: readonly ContentCoding[];
}

/**
 * The media types compressed by default: text and the text-like formats a browser fetches
 * (JSON, JavaScript, XML and their `+json`/`+xml` kin, SVG, WebAssembly, uncompressed fonts and
 * icons). Images, audio, video, archives and WOFF fonts are compressed already and are left out.
 */
export const DEFAULT_COMPRESSED_TYPES: readonly string[] = [
  'text/*',
  'application/json',
  'application/*+json',
  'application/x-ndjson',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/xml',
  'application/*+xml',
  'image/svg+xml',
  'application/wasm',
  'font/ttf',
  'font/otf',
  'application/vnd.ms-fontobject',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'image/bmp',
];

/** The default `min_size`: below about one packet, compressing saves no round trip. */
export const DEFAULT_MIN_SIZE = 1024;

/** The default `algorithms`: brotli first, as it compresses text better than gzip at a like cost. */
export const DEFAULT_CODINGS: readonly ContentCoding[] = ['br', 'gzip'];

/** What the config says of `compress` where it is set (a route's, else the top level's). */
export type CompressConfig = boolean | { readonly types?: readonly string[]; readonly min_size?: number; readonly algorithms?: readonly ContentCoding[] } | undefined;

/** Compiles `compress`; undefined when it is off (unset, or `false`). */
export function compileCompress(config: CompressConfig): CompressSettings | undefined {
  if (config === undefined || config === false) return undefined;
  const settings = config === true ? {} : config;
  return {
    compressesType: mediaTypeMatcher(settings.types ?? DEFAULT_COMPRESSED_TYPES),
    minSize: settings.min_size ?? DEFAULT_MIN_SIZE,
    codings: settings.algorithms ?? DEFAULT_CODINGS,
  };
}

/** A test of a media type against patterns: `type/subtype`, `type/*`, `type/*+suffix`, `*\/*`. */
function mediaTypeMatcher(patterns: readonly string[]): (mediaType: string) => boolean {
  const exact = new Set<string>();
  const types = new Set<string>();
  const suffixes: { type: string; suffix: string }[] = [];
  let all = false;
  for (const pattern of patterns.map((text) => text.toLowerCase())) {
    const [type, subtype] = pattern.split('/');
    if (type === '*') all = true;
    else if (subtype === '*') types.add(type);
    else if (subtype.startsWith('*+')) suffixes.push({ type, suffix: subtype.slice(1) });
    else exact.add(pattern);
  }
  return (mediaType) => {
    if (all || exact.has(mediaType)) return true;
    const slash = mediaType.indexOf('/');
    const type = mediaType.slice(0, slash);
    return types.has(type) || suffixes.some((entry) => entry.type === type && mediaType.endsWith(entry.suffix));
  };
}

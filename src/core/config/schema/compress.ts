import * as v from 'valibot';
import { jsonSchemaRule } from './common.ts';
import { bounded } from './server.ts';

/** A media type pattern: `type/subtype`, `type/*`, `type/*+suffix` (as `application/*+json`) or `*\/*`. */
const MEDIA_TYPE_PATTERN = /^(?:\*\/\*|[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/(?:\*|\*\+[!#$%&'+\-.^_`|~0-9A-Za-z]+|[!#$%&'+\-.^_`|~0-9A-Za-z]+))$/;

const mediaTypePattern = v.pipe(
  v.string(),
  v.regex(MEDIA_TYPE_PATTERN, (issue) => `${JSON.stringify(issue.input)} is not a media type pattern; write it like "text/html", "text/*" or "application/*+json"`),
);

const coding = v.picklist(['br', 'gzip'], (issue) => `${JSON.stringify(issue.input)} is not a compression algorithm; expected br or gzip`);

/** `compress`: `true` (the defaults), `false` (off), or settings. */
export const compress = v.union(
  [
    v.boolean(),
    v.strictObject({
      types: v.optional(
        v.pipe(
          v.array(mediaTypePattern),
          v.minLength(1, 'types needs at least one media type'),
          v.description(
            'The media types compressed, replacing the defaults: `text/html`, `text/*` or `application/*+json` (default text, JSON, JavaScript, XML, SVG, WebAssembly and fonts: docs/compression.md).',
          ),
        ),
      ),
      min_size: v.optional(
        v.pipe(
          bounded(0, 1024 * 1024),
          v.description('The smallest `Content-Length` compressed, in bytes or with a unit such as `1KiB` (default `1KiB`); a body of unknown length is compressed.'),
        ),
      ),
      algorithms: v.optional(
        v.pipe(
          v.array(coding),
          v.minLength(1, 'algorithms needs at least one of br and gzip'),
          v.check((list) => new Set(list).size === list.length, 'algorithms names an algorithm twice'),
          jsonSchemaRule({ uniqueItems: true }),
          v.description('The codings offered, in the order preferred when the client accepts several equally: `br`, `gzip` (default `[br, gzip]`).'),
        ),
      ),
    }),
  ],
  'expected false, true, or { types, min_size, algorithms }',
);

import { FieldList } from './FieldList.ts';
import type { HeaderFields } from './HeaderFields.ts';

/** Header fields in a form `fetch`, `Request` and `Response` accept, copied only when they must be. */
export function webHeaders(fields: HeaderFields): HeadersInit {
  if (fields instanceof Headers) return fields;
  return (fields instanceof FieldList ? fields : FieldList.copyOf(fields)).pairs();
}

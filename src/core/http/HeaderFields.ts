/**
 * The header operations the core needs, as the Web `Headers` class spells them, so a runtime may
 * hand the core either a `Headers` or a lighter list of its own (`FieldList`). Names are
 * case-insensitive; `get` joins repeated fields with `, ` as `Headers` does.
 */
export interface HeaderFields {
  get(name: string): string | null;
  has(name: string): boolean;
  /** Replaces every field of that name with one. */
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
  /** Every field, `set-cookie` fields one by one; names lower-case. */
  forEach(callback: (value: string, name: string) => void): void;
}

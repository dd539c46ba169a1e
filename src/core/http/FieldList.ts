import type { HeaderFields } from './HeaderFields.ts';

/**
 * Header fields as one flat list, `[name, value, name, value, ...]`, names lower-case, in the
 * order they arrived. It is the form Node's parser, Node's `writeHead` and undici all use, so on
 * Node a request's headers go from the client to the backend (and the response's back) without
 * being rebuilt as a `Headers` object, whose construction validates and sorts every field.
 * Values are not validated here: they come from an HTTP parser or from a config checked at load.
 */
export class FieldList implements HeaderFields {
  /** The fields, flat; read it, change it through the methods. */
  readonly flat: string[];

  constructor(flat: string[] = []) {
    this.flat = flat;
  }

  /** From a raw `[name, value, ...]` list such as Node's `rawHeaders`, names lower-cased. */
  static fromRaw(raw: readonly string[]): FieldList {
    const flat = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i += 2) {
      flat[i] = raw[i].toLowerCase();
      flat[i + 1] = raw[i + 1];
    }
    return new FieldList(flat);
  }

  /** A copy of any header fields, `Headers` included. */
  static copyOf(fields: HeaderFields): FieldList {
    if (fields instanceof FieldList) return new FieldList(fields.flat.slice());
    const flat: string[] = [];
    fields.forEach((value, name) => flat.push(name, value));
    return new FieldList(flat);
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    const flat = this.flat;
    let value: string | null = null;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] === key) value = value === null ? flat[i + 1] : `${value}, ${flat[i + 1]}`;
    }
    return value;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === key) return true;
    return false;
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.flat.push(name.toLowerCase(), value);
  }

  append(name: string, value: string): void {
    this.flat.push(name.toLowerCase(), value);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    const flat = this.flat;
    let kept = 0;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] === key) continue;
      flat[kept++] = flat[i];
      flat[kept++] = flat[i + 1];
    }
    // Setting an array's length is a slow call in V8; most deletes find nothing to delete.
    if (kept !== flat.length) flat.length = kept;
  }

  /** Removes every field whose name `doomed` picks, in one pass however many it picks. */
  deleteWhere(doomed: (name: string) => boolean): void {
    const flat = this.flat;
    let kept = 0;
    for (let i = 0; i < flat.length; i += 2) {
      if (doomed(flat[i])) continue;
      flat[kept++] = flat[i];
      flat[kept++] = flat[i + 1];
    }
    if (kept !== flat.length) flat.length = kept;
  }

  forEach(callback: (value: string, name: string) => void): void {
    const flat = this.flat;
    for (let i = 0; i < flat.length; i += 2) callback(flat[i + 1], flat[i]);
  }

  /** As `[name, value]` pairs, the form `fetch`, `Headers` and `Response` accept. */
  pairs(): [string, string][] {
    const pairs: [string, string][] = [];
    for (let i = 0; i < this.flat.length; i += 2) pairs.push([this.flat[i], this.flat[i + 1]]);
    return pairs;
  }
}

/** Where strict JSON (RFC 8259) stops in a text, and why. */
export interface JsonSyntaxError {
  /** Offset of the offending character (the text's length when it ends early). */
  readonly offset: number;
  readonly message: string;
}

/**
 * The first place `text` is not strict JSON (RFC 8259), which YAML would have read anyway: a
 * trailing comma, a comment, a single-quoted string, a bare key. Undefined when it is JSON.
 * @example jsonSyntaxError('{"a": 1,}') // { offset: 7, message: 'a trailing comma, which JSON does not allow' }
 */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return locate(text) ?? { offset: 0, message: (error as Error).message };
  }
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** Walks the text as a JSON parser would, to say where and why `JSON.parse` refused it. */
function locate(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const unexpected = (expected: string): never => {
    const c = text[i];
    if (c === undefined) throw new Stop(i, `the JSON ends before ${expected}`);
    if (c === '/' || c === '#') throw new Stop(i, 'a comment, which JSON does not allow');
    if (c === "'") throw new Stop(i, 'a single-quoted string; JSON strings take double quotes');
    throw new Stop(i, `unexpected ${JSON.stringify(c)}; expected ${expected}`);
  };
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) throw new Stop(i, 'a control character inside a string; JSON needs it escaped');
      i++;
    }
    if (i >= text.length) throw new Stop(start, 'a string that is never closed');
    i++;
  };
  const sequence = (close: string, item: () => void, what: string) => {
    i++;
    space();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      space();
      if (text[i] === close) return void i++;
      if (text[i] !== ',') unexpected(`"," or "${close}"`);
      const comma = i++;
      space();
      if (text[i] === close) throw new Stop(comma, `a trailing comma after the last ${what}, which JSON does not allow`);
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      sequence('}', () => {
        space();
        if (text[i] !== '"') {
          if (/[A-Za-z_$]/.test(text[i] ?? '')) throw new Stop(i, 'a key without quotes; JSON keys are double-quoted strings');
          unexpected('a key in double quotes');
        }
        string();
        space();
        if (text[i] !== ':') unexpected('":"');
        i++;
        value();
      }, 'entry');
    } else if (c === '[') {
      sequence(']', value, 'item');
    } else if (c === '"') {
      string();
    } else {
      const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)/.exec(text.slice(i, i + 400));
      if (!literal) unexpected('a value');
      i += literal![0].length;
    }
  };
  try {
    value();
    space();
    if (i < text.length) unexpected('the end of the JSON');
    return undefined;
  } catch (stop) {
    if (stop instanceof Stop) return { offset: stop.offset, message: stop.message };
    throw stop;
  }
}

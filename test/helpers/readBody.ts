import type { Readable } from 'node:stream';

/** A Node stream read to its end, as latin-1 text (every byte kept as one character). */
export async function readNodeBody(body: Readable): Promise<string> {
  let text = '';
  for await (const chunk of body) text += Buffer.from(chunk).toString('latin1');
  return text;
}

/** A web stream read to its end, as latin-1 text. */
export async function readWebBody(body: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) text += Buffer.from(read.value).toString('latin1');
  return text;
}

/** A request body read ahead: replayable when it fitted the bound, else a stream to send once. */
export type BufferedBody =
  | { readonly replayable: true; readonly bytes: Uint8Array }
  | { readonly replayable: false; readonly stream: ReadableStream<Uint8Array> };

/**
 * Reads up to `maxBytes` of a request body. A body that ends within the bound is kept whole, so
 * a retry can send it again. A longer one is handed back as a stream of the bytes already read
 * followed by the rest, untouched, to be sent once and never replayed.
 */
export async function bufferBody(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<BufferedBody> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { replayable: true, bytes: concat(chunks, size) };
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) break;
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = chunks.shift();
        if (chunk) return controller.enqueue(chunk);
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return { replayable: false, stream };
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

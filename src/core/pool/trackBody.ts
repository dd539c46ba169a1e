/**
 * Wraps a response body so that `done` runs exactly once, when the body has been read to its end,
 * failed, or been cancelled (the client went away). In-flight counts end there, not when the
 * headers arrive, so a long download keeps counting against its backend. Pull-based, so the
 * source's backpressure is kept.
 * @param onError also told when the source fails mid-body
 */
export function trackBody(
  body: ReadableStream<Uint8Array>,
  done: () => void,
  onError?: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          finish();
          onError?.(error);
          return controller.error(error);
        }
        if (result.done) {
          finish();
          controller.close();
        } else {
          controller.enqueue(result.value);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

import { setBodyTap } from '../proxy/bodyTap.ts';

/**
 * Wraps a response body so that `done` runs exactly once, when the body has been read to its end,
 * failed, or been cancelled (the client went away). In-flight counts end there, not when the
 * headers arrive, so a long download keeps counting against its backend. Pull-based, so the
 * source's backpressure is kept. The wrapper is marked as a body tap, and takes its reader only on
 * the first read, so a runtime's fast lane (Node's socket-to-socket pipe) can still see through it.
 * @param onError also told when the source fails mid-body
 */
export function trackBody(
  body: ReadableStream<Uint8Array>,
  done: () => void,
  onError?: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const outer = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= body.getReader();
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
        return reader ? reader.cancel(reason) : body.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return setBodyTap(outer, { inner: body, done: finish, failed: (error) => onError?.(error) });
}

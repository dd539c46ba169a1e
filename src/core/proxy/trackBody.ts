import { onSettled } from './bodySettled.ts';

/**
 * Runs `done` exactly once, when a response body has been read to its end, failed, or been
 * cancelled (the client went away). In-flight counts end there, not when the headers arrive, so a
 * long download keeps counting against its backend. A body that can report its own end
 * (`bodySettled.ts`) is returned as it is; any other is wrapped in a pull-based stream that keeps
 * the source's backpressure.
 * @param onError also told when the source fails mid-body
 */
export function trackBody(
  body: ReadableStream<Uint8Array>,
  done: () => void,
  onError?: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const reported = onSettled(body, (sourceError) => {
    if (sourceError !== undefined) onError?.(sourceError);
    finish();
  });
  if (reported) return body;

  const reader = body.getReader();
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

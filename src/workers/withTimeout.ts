/** What `withTimeout` rejects with: the isolate stopped waiting; the object may still act on the call. */
export class NoAnswerInTime extends Error {
  override readonly name = 'NoAnswerInTime';

  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** A call to the Durable Object, given up after `ms`: it rejects then (`NoAnswerInTime`), and its late answer is dropped. */
export function withTimeout<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswerInTime(ms)), ms);
  });
  return Promise.race([call, late]).finally(() => clearTimeout(timer));
}

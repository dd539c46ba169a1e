import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** A response as the client received it, body undecoded. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export interface SendOptions {
  readonly method?: string;
  /** Sent as they are, `Host` included (Node's fetch would drop a custom Host). */
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly timeoutMs?: number;
}

/**
 * Sends one request on a fresh connection with node:http, which sends the path byte for byte and
 * lets a test set `Host`, `Connection` and the other fields fetch refuses.
 */
export function send(base: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: () => body.toString(), json: () => JSON.parse(body.toString()) });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${options.method ?? 'GET'} ${path} within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends raw request bytes with `Connection: close` and returns every byte that came back until the
 * server closed the connection or stayed quiet for `quietMs` after the header block, so a test can
 * see what no HTTP client shows: whether a HEAD, 204 or 304 answer carries body bytes.
 */
export function sendRaw(base: string, requestHead: string, quietMs = 500, timeoutMs = 10_000): Promise<{ head: string; rest: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split === -1) return reject(new Error(`no complete header block: ${JSON.stringify(all.toString('latin1'))}`));
      resolve({ head: all.subarray(0, split).toString('latin1'), rest: all.subarray(split + 4) });
    };
    const timer = setTimeout(() => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).includes('\r\n\r\n')) {
        clearTimeout(quiet);
        quiet = setTimeout(finish, quietMs);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      clearTimeout(quiet);
      reject(error);
    });
    socket.on('end', finish);
    socket.write(requestHead.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, '\r\nconnection: close\r\n\r\n'));
  });
}

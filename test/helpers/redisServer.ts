import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort.ts';

/** A throwaway redis-server on a loopback port: no persistence, no config file, killed by `stop`. */
export interface RedisServer {
  /** The plain port, which the helper itself (and `RespClient`) speaks to. */
  readonly port: number;
  /** `redis://127.0.0.1:PORT`, without the password. */
  readonly url: string;
  /** With `tls`: `rediss://127.0.0.1:TLS_PORT`, without the password. */
  readonly tlsUrl: string | undefined;
  /** SIGKILLs it (the "Redis dies" case); `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOPs it (a Redis that hangs: connections stay open, nothing is answered); `resume` SIGCONTs it. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Also listen with TLS on a second port, with this certificate (made for 127.0.0.1), clients not asked for one. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** `--requirepass`. */
  readonly password?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/**
 * Starts Debian's redis-server (installed by .ci/run). `--port 0` would turn TCP off, so a free
 * port is found first; `--save ''` and `--appendonly no` keep it in memory, and the flags override
 * any config file. Resolves once it answers PING; rejects after `timeoutMs`.
 */
export async function startRedis({ tls, password, timeoutMs = 5_000 }: RedisOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const tlsPort = tls && (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'));
  const flags = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--dir', dir, '--logfile', '', '--daemonize', 'no'];
  if (tls) flags.push('--tls-port', String(tlsPort), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no');
  if (password) flags.push('--requirepass', password);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', flags, { stdio: 'ignore' });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      try {
        const client = await RespClient.connect(port, password);
        const pong = await client.command('PING');
        client.close();
        if (pong === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  const resume = () => void child?.kill('SIGCONT');
  const stop = async () => (resume(), await kill(), rmSync(dir, { recursive: true, force: true }));
  return { port, url: `redis://127.0.0.1:${port}`, tlsUrl: tls && `rediss://127.0.0.1:${tlsPort}`, kill, start, pause: () => void child?.kill('SIGSTOP'), resume, stop };
}

type Reply = string | number | null | Error | Reply[];

/** Just enough RESP2 (https://redis.io/docs/latest/develop/reference/protocol-spec/) to drive a script from a test, pipelined. */
export class RespClient {
  #buffer = Buffer.alloc(0);
  readonly #waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (;;) {
        const parsed = parse(this.#buffer, 0);
        if (!parsed) break;
        this.#buffer = this.#buffer.subarray(parsed.end);
        this.#waiting.shift()?.resolve(parsed.reply);
      }
    });
    socket.on('error', (error) => this.#waiting.splice(0).forEach((w) => w.reject(error)));
  }

  /** Connects to the plain port, and authenticates first with `password`. */
  static async connect(port: number, password?: string): Promise<RespClient> {
    const client = await new Promise<RespClient>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RespClient(socket)));
      socket.once('error', reject);
    });
    if (password) await client.command('AUTH', password);
    return client;
  }

  command(...args: (string | number)[]): Promise<Reply> {
    const parts = args.map(String);
    this.socket.write(`*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  close(): void {
    this.socket.destroy();
  }
}

function parse(buffer: Buffer, at: number): { reply: Reply; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', at);
  if (lineEnd < 0) return undefined;
  const line = buffer.toString('utf8', at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (String.fromCharCode(buffer[at]!)) {
    case '+': return { reply: line, end: next };
    case '-': return { reply: new Error(line), end: next };
    case ':': return { reply: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, end: next };
      const items: Reply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, end);
        if (!item) return undefined;
        items.push(item.reply);
        end = item.end;
      }
      return { reply: items, end };
    }
    default: throw new Error(`unexpected RESP type in ${JSON.stringify(buffer.toString('utf8', at, lineEnd))}`);
  }
}

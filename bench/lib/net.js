// Small loopback helpers: picking a port for programs that cannot take port 0, and waiting until
// a candidate really answers before it is measured.
import net from 'node:net';
import http from 'node:http';
import { lastLines, stopChild } from './children.js';

/**
 * A free port on 127.0.0.1, for nginx and HAProxy, which cannot report the port they picked.
 * There is a small window in which another process could take it; on a bench machine that is
 * acceptable, and a failed bind surfaces as a skipped candidate with the reason.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET; resolves { status, body } (its first `maxBytes` or so) or rejects. Never reuses connections. */
export function get(url, { headers = {}, timeoutMs = 2000, maxBytes = 4096 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { if (body.length < maxBytes) body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Polls `url` until it answers 2xx (a balancer may list its backends as unknown until the first
 * health check passes) or `timeoutMs` runs out; rejects with the last status or error seen.
 */
export async function waitUntilServing(url, { headers, timeoutMs = 10_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const res = await get(url, { headers, timeoutMs: Math.min(2000, Math.max(100, deadline - Date.now())) });
      if (res.status >= 200 && res.status < 300) return res;
      last = `HTTP ${res.status} ${res.body.trim().slice(0, 80)}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not answering 2xx within ${timeoutMs / 1000} s (last: ${last})`);
}

/** nginx and HAProxy say nothing when ready: wait until the port accepts, or the process dies. */
export async function waitForTcp(record, port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (record.exited) throw new Error(`exited (${record.exitCode}): ${lastLines(record)}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopChild(record, 500);
  throw new Error(`port ${port} not open within ${timeoutMs / 1000} s: ${lastLines(record)}`);
}

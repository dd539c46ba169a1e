// Connections a balancer has to keep, held open from the harness on raw sockets: idle keep-alive
// connections that have each been answered once, and uploads that sent their head and part of
// their body and then wait. The memory scenario reads what holding them costs.
import net from 'node:net';

const UPLOAD_CHUNK = Buffer.alloc(64 * 1024, 'u');

/**
 * Opens `count` connections to `url`, `concurrency` at a time; each sends one GET and reads its
 * 2xx answer, then stays open and idle. Rejects (closing what it opened) if any fails.
 * @returns {Promise<{ sockets: net.Socket[], close: () => void }>}
 */
export async function holdIdleConnections(url, { count, concurrency = 50, headers = {}, timeoutMs = 10_000 }) {
  const { hostname, port, pathname } = new URL(url);
  const head = requestHead('GET', pathname, hostname, headers);
  return openAll(count, concurrency, async () => {
    const socket = await connect(hostname, port, timeoutMs);
    try {
      socket.write(head);
      await readAnswer(socket, timeoutMs);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return socket;
  });
}

/**
 * Starts `count` uploads of `totalBytes` to `url` (a POST the backend reads), each sending its head
 * and `sentBytes` of its body and then nothing more: uploads the balancer has to hold mid-body.
 * @returns {Promise<{ sockets: net.Socket[], close: () => void }>}
 */
export async function holdUploads(url, { count, sentBytes = 64 * 1024, totalBytes = 1024 * 1024, concurrency = 50, headers = {}, timeoutMs = 10_000 }) {
  const { hostname, port, pathname } = new URL(url);
  const head = requestHead('POST', pathname, hostname, { ...headers, 'content-type': 'application/octet-stream', 'content-length': totalBytes });
  return openAll(count, concurrency, async () => {
    const socket = await connect(hostname, port, timeoutMs);
    socket.write(head);
    for (let sent = 0; sent < sentBytes; sent += UPLOAD_CHUNK.length) {
      socket.write(UPLOAD_CHUNK.subarray(0, Math.min(UPLOAD_CHUNK.length, sentBytes - sent)));
    }
    // An early answer (413, 502, a close) means the balancer is not holding this upload.
    socket.once('data', () => socket.destroy());
    return socket;
  });
}

/** How many of `held`'s sockets are still open. */
export const openCount = (held) => held.sockets.filter((socket) => !socket.destroyed).length;

async function openAll(count, concurrency, open) {
  const sockets = [];
  let next = 0;
  let failure;
  const worker = async () => {
    while (next < count && !failure) {
      next += 1;
      try {
        sockets.push(await open());
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const close = () => sockets.forEach((socket) => socket.destroy());
  if (failure) {
    close();
    throw new Error(`${sockets.length} of ${count} connections opened, then: ${failure.message}`);
  }
  return { sockets, close };
}

function requestHead(method, path, host, headers) {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function connect(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host);
    const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      // A socket the balancer resets later is simply counted as gone (openCount).
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

/** Reads one answer with a Content-Length (what the bench backends send) and checks it is 2xx. */
function readAnswer(socket, timeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      error ? reject(error) : resolve();
    };
    const onClose = () => finish(new Error(`closed after ${text.length} bytes of the answer`));
    const onData = (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const status = Number(text.slice(9, 12));
      if (status < 200 || status > 299) return finish(new Error(`answered ${text.slice(0, text.indexOf('\r\n'))}`));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (!length) return finish(new Error('answer without Content-Length'));
      if (text.length >= end + 4 + Number(length[1])) finish();
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

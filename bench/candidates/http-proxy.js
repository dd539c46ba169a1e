// node-http-proxy in its own process (servers/http-proxy.js): the "plain Node proxy" reference.
import { join } from 'node:path';
import { startChild, waitForOutput, stopChild } from '../lib/children.js';
import { serversDir } from '../lib/paths.js';

export async function startHttpProxy({ servers, timeoutMs }) {
  const record = startChild(process.execPath, [join(serversDir, 'http-proxy.js'), ...servers], { name: 'http-proxy', ipc: true });
  try {
    const [, host, port] = await waitForOutput(record, /listening on http:\/\/([^\s:]+):(\d+)/, timeoutMs);
    return { record, url: `http://${host}:${port}`, pid: record.child.pid };
  } catch (error) {
    await stopChild(record, 500);
    throw error;
  }
}

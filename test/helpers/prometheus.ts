import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadPort } from './deadPort.ts';

/** Debian's `prometheus` package; `.ci/run` installs it. */
export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

/** One series of an instant query's answer. */
export interface PrometheusSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What Prometheus says of its scrape target: `up`, `down` or `unknown`, with the last error. */
export interface ScrapeTarget {
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Runs an instant PromQL query through `/api/v1/query`; rejects on an API error. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** The scrape target and its health, from `/api/v1/targets`. */
  targets(): Promise<ScrapeTarget[]>;
  /** Everything the server printed so far. */
  output(): string;
  /** Kills the server (SIGTERM, SIGKILL after 5 s) and removes its data directory. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** `HOST:PORT` to scrape, on loopback. */
  readonly target: string;
  /** Sent as `Authorization: Bearer TOKEN` on every scrape. */
  readonly bearerToken?: string;
  /** @default '/metrics' */
  readonly metricsPath?: string;
  /** How long to wait for `/-/ready`. @default 20_000 */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts a real Prometheus server on a free loopback port with a fresh data directory, scraping
 * one static target every second, and resolves once `/-/ready` answers 200.
 * @example
 * const prometheus = await startPrometheus({ target: '127.0.0.1:9100', bearerToken: 'secret' });
 * try { await prometheus.query('up') } finally { await prometheus.stop() }
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-prometheus-'));
  try {
    return await startIn(dir, options);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dir: string, options: PrometheusOptions): Promise<RunningPrometheus> {
  const configFile = join(dir, 'prometheus.yml');
  // JSON is YAML: no quoting to get wrong in the token or the target.
  await writeFile(configFile, JSON.stringify(scrapeConfig(options), null, 2));
  // The port is free when deadPort returns; another process could take it before Prometheus binds,
  // in which case Prometheus exits and the next port is tried.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await deadPort();
    try {
      return await launch(dir, configFile, port, options.readyTimeoutMs ?? 20_000);
    } catch (error) {
      lastError = error;
      if (!/address already in use/.test(String(error))) break;
    }
  }
  throw lastError;
}

function scrapeConfig({ target, bearerToken, metricsPath = '/metrics' }: PrometheusOptions): object {
  return {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [
      {
        job_name: 'switchyard',
        metrics_path: metricsPath,
        ...(bearerToken === undefined ? {} : { authorization: { type: 'Bearer', credentials: bearerToken } }),
        static_configs: [{ targets: [target] }],
      },
    ],
  };
}

async function launch(dir: string, configFile: string, port: number, readyTimeoutMs: number): Promise<RunningPrometheus> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BINARY,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  child.once('error', (error) => void (output += `${error.message}\n`));

  const stop = async () => {
    if (!gone) child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(force);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gone) throw new Error(`prometheus exited before it was ready:\n${output}`);
    if (await answers200(`${url}/-/ready`)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`prometheus not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    query: async (promql) => {
      const data = (await apiGet(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)) as { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      if (data.resultType !== 'vector') throw new Error(`${promql}: expected a vector, got ${data.resultType}`);
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    targets: async () => {
      const data = (await apiGet(`${url}/api/v1/targets`)) as { activeTargets: ScrapeTarget[] };
      return data.activeTargets.map(({ scrapeUrl, health, lastError }) => ({ scrapeUrl, health, lastError }));
    },
    output: () => output,
    stop,
  };
}

async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function apiGet(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { status: string; data?: unknown; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

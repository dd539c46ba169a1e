import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { healthSettingsKey } from '../core/config/compilePoolSettings.ts';
import { ConfigError, formatIssue, inFileOrder, type ConfigIssue } from '../core/config/ConfigError.ts';
import { loadConfig, type LoadedConfig } from '../core/config/loadConfig.ts';
import type { Environment } from '../core/config/substituteEnv.ts';
import { startHealthChecks, type HealthChecks } from '../core/health/startHealthChecks.ts';
import type { Upstream } from '../core/Upstream.ts';
import type { PasswordChecks } from '../core/gates/PasswordChecks.ts';
import type { Config } from '../core/config/schema/index.ts';
import type { RateLimitStore } from '../core/RateLimitStore.ts';

/** What became of the last reload, as `/api/status` reports it. */
export interface ReloadReport {
  /** When it ended, in ms since the epoch. */
  readonly at: number;
  readonly result: 'success' | 'failure';
  /** Each error, as `check` prints it (`FILE:LINE:COL: field: message`); empty on success. */
  readonly errors: readonly string[];
}

export interface LiveConfigOptions {
  readonly env?: Environment;
  /**
   * What the core cannot check, run on every load and reload (files the config names:
   * certificates, keys, CAs): an error refuses the config as a schema error would; warnings are
   * logged. @default none
   */
  readonly checkFiles?: (config: LoadedConfig) => readonly ConfigIssue[];
  readonly log: (line: string) => void;
  /**
   * Sends the health probes. Without it no backend is probed here: its verdicts come from
   * elsewhere (`HealthState.adoptVerdict`: the primary process of `--workers`).
   */
  readonly probes?: Upstream;
  /** Where `basic_auth` checks passwords (`ThreadedPasswordChecks`), for every config loaded. @default inline, per config */
  readonly passwordChecks?: PasswordChecks;
  /**
   * Keeps the shared store (`store`) across reloads (`SharedStores`): asked for each config
   * loaded, told whether it was applied. Without it, `store` is ignored. @default none
   */
  readonly stores?: ConfigStores;
}

/** What `LiveConfig` needs of `SharedStores` (src/store/SharedStores.ts). */
export interface ConfigStores {
  /** The store a config's rate limits are compiled against: the one in use if its settings are unchanged. */
  for(config: Config): RateLimitStore | undefined;
  /** The config compiled against it is in use now (the store it replaces is closed). */
  commit(store: RateLimitStore | undefined): void;
  /** The config compiled against it was refused (a store made for it is closed). */
  discard(store: RateLimitStore | undefined): void;
  close(): Promise<void>;
}

/**
 * Told of a reload before it is applied, with the new config and the one in use. It may refuse
 * it by throwing (a listening address it cannot move), and prepares what the config does not hold
 * itself (new certificates, a moved admin listener): the change it returns is committed once every
 * step has agreed, with the swap, or aborted if a later step refuses, so that a refused reload
 * changes nothing.
 */
export type ReloadStep = (next: LoadedConfig, previous: LoadedConfig) => ReloadChange | void | Promise<ReloadChange | void>;

/** What a step prepared: applied with the swap, or undone when the reload is refused. */
export interface ReloadChange {
  commit(): void;
  abort?(): void;
}

/**
 * The config in use, and how it is replaced (SIGHUP, `POST /api/reload`, `--watch`). A reload
 * reads and checks the whole file first: an invalid one changes nothing, and its errors are
 * logged. A valid one is swapped in at once, as one value: a request admitted before the swap
 * finishes on the config it started with. Backends in both configs keep their health, ejections
 * and in-flight counts (`Backend.adopt`), and probers start and stop only for backends added or
 * removed. Reloads run one at a time, in the order asked.
 */
export class LiveConfig {
  /** The file as given, for log lines; `source` is where it is. */
  readonly file: string;
  readonly source: string;
  readonly reloads = { success: 0, failure: 0 };
  #config: LoadedConfig;
  #text: string;
  #loadedAt = Date.now();
  #lastReload: ReloadReport | undefined;
  readonly #health: HealthChecks;
  readonly #options: LiveConfigOptions;
  readonly #steps: ReloadStep[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(file: string, text: string, config: LoadedConfig, health: HealthChecks, options: LiveConfigOptions) {
    this.file = file;
    this.source = resolve(file);
    this.#text = text;
    this.#config = config;
    this.#health = health;
    this.#options = options;
  }

  /**
   * Reads and compiles the config, starts its health checks and runs one round of probes, so
   * that no request meets a backend already known to be dead. Rejects with a `ConfigError`.
   */
  static async load(file: string, options: LiveConfigOptions): Promise<LiveConfig> {
    return LiveConfig.fromText(file, await readFile(file, 'utf8'), options);
  }

  /** `load` with the file's text already read (a `--workers` worker is sent the primary's). */
  static async fromText(file: string, text: string, options: LiveConfigOptions): Promise<LiveConfig> {
    const { config, store } = loadWithStore(text, file, options);
    options.stores?.commit(store);
    const health = options.probes ? startHealthChecks(config.backends, { upstream: options.probes, log: options.log }) : NO_HEALTH_CHECKS;
    await health.probeAll();
    return new LiveConfig(file, text, config, health, options);
  }

  /** The config in use: ask for it per request, never keep it. */
  get config(): LoadedConfig {
    return this.#config;
  }

  /** When the config in use was loaded, in ms since the epoch. */
  get loadedAt(): number {
    return this.#loadedAt;
  }

  /** The text the config in use was compiled from. */
  get text(): string {
    return this.#text;
  }

  get lastReload(): ReloadReport | undefined {
    return this.#lastReload;
  }

  /** Adds a step every reload takes before the swap (see `ReloadStep`). */
  onReload(step: ReloadStep): void {
    this.#steps.push(step);
  }

  /**
   * Reads the file again and swaps it in if it is valid; logs what happened either way.
   * @param reason what asked for it, for the log line (`SIGHUP`, `the admin API`, `a change to the file`)
   * @param ifChanged skip it when the file holds the same text as the config in use (`--watch`)
   */
  reload(reason: string, ifChanged = false): Promise<ReloadReport | undefined> {
    const run = this.#queue.then(() => this.#reload(reason, ifChanged));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** `reload` with the text given rather than read (a `--workers` worker takes the primary's). */
  reloadText(text: string, reason: string): Promise<ReloadReport | undefined> {
    const run = this.#queue.then(() => this.#reload(reason, false, text));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops the health checks (the shared store is closed by whoever made it). */
  stop(): void {
    this.#health.stop();
  }

  async #reload(reason: string, ifChanged: boolean, given?: string): Promise<ReloadReport | undefined> {
    const { log } = this.#options;
    let next: LoadedConfig;
    let text: string;
    let store: RateLimitStore | undefined;
    const changes: ReloadChange[] = [];
    try {
      text = given ?? (await readFile(this.file, 'utf8'));
      if (ifChanged && text === this.#text) return undefined;
      ({ config: next, store } = loadWithStore(text, this.file, this.#options));
      const previous = this.#config;
      for (const step of this.#steps) {
        const change = await step(next, previous);
        if (change) changes.push(change);
      }
    } catch (error) {
      for (const change of changes) change.abort?.();
      this.#options.stores?.discard(store);
      const errors = error instanceof ConfigError ? error.issues.map(formatIssue) : [`${this.file}: ${error instanceof Error ? error.message : String(error)}`];
      for (const line of errors) log(line);
      log(`switchyard: reload (${reason}) failed: the config in use is kept`);
      this.reloads.failure++;
      return (this.#lastReload = { at: Date.now(), result: 'failure', errors });
    }
    for (const warning of next.warnings) log(formatIssue(warning));
    const previous = new Map(this.#config.backends.map((backend) => [backend.id, backend]));
    for (const backend of next.backends) {
      const before = previous.get(backend.id);
      if (before) backend.adopt(before, sameHealthSettings(before, backend));
    }
    // New backends get their first probe before the swap, as at start-up.
    try {
      await this.#health.update(next.backends);
    } catch (error) {
      // Not expected (probes report failures, they do not throw); what was prepared is undone.
      for (const change of changes) change.abort?.();
      this.#options.stores?.discard(store);
      throw error;
    }
    for (const change of changes) change.commit();
    this.#options.stores?.commit(store);
    this.#config = next;
    this.#text = text;
    this.#loadedAt = Date.now();
    this.reloads.success++;
    const kept = next.backends.filter((backend) => previous.has(backend.id)).length;
    log(`switchyard: config reloaded (${reason}) from ${this.file}: ${next.routesInOrder.length} routes, ${next.backends.length} backends (${next.backends.length - kept} new, ${previous.size - kept} gone)`);
    return (this.#lastReload = { at: this.#loadedAt, result: 'success', errors: [] });
  }
}

/** Where backends are not probed by this process. */
const NO_HEALTH_CHECKS: HealthChecks = { stop() {}, async probeAll() {}, async update() {} };

/**
 * `loadConfig`, then the checks of the files it names: their errors throw a `ConfigError` as the
 * schema's would, and their warnings join the config's.
 */
export function loadChecked(text: string, file: string, options: Pick<LiveConfigOptions, 'env' | 'checkFiles' | 'passwordChecks'> & { readonly storeFor?: ConfigStores['for'] }): LoadedConfig {
  const config = loadConfig(text, file, { env: options.env, passwordChecks: options.passwordChecks, storeFor: options.storeFor });
  const found = options.checkFiles?.(config) ?? [];
  if (found.some((issue) => issue.severity !== 'warning')) throw new ConfigError(inFileOrder([...found, ...config.warnings]));
  return found.length === 0 ? config : { ...config, warnings: inFileOrder([...config.warnings, ...found]) };
}

/**
 * `loadChecked` with the shared store asked for the config's `store`; a store made for a config
 * that is then refused (a compile error, a file check) is discarded before the error goes on.
 */
function loadWithStore(text: string, file: string, options: LiveConfigOptions): { config: LoadedConfig; store: RateLimitStore | undefined } {
  const { stores } = options;
  let store: RateLimitStore | undefined;
  try {
    const config = loadChecked(text, file, { ...options, storeFor: stores && ((config) => (store = stores.for(config))) });
    return { config, store };
  } catch (error) {
    stores?.discard(store);
    throw error;
  }
}

function sameHealthSettings(a: LoadedConfig['backends'][number], b: LoadedConfig['backends'][number]): boolean {
  return healthSettingsKey(a.health.active, a.health.passive) === healthSettingsKey(b.health.active, b.health.passive);
}

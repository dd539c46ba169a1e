/// <reference lib="dom" />
// The live status page: one HTML document with its CSS and script inline, so the admin listener
// serves it as a single string and the page needs nothing from outside (an air-gapped host, a
// strict firewall). It reads `GET api/status` (relative, so it works behind a path prefix) once a
// second and redraws in place, keeping the filter, scroll and open lists as they are.

/** `GET /api/status`, as far as the page reads it. */
interface Status {
  config: {
    source: string;
    loaded_at: string;
    reloads: { success: number; failure: number };
    last_reload: null | { at: string; result: 'success' | 'failure'; errors?: string[] };
  };
  routes: {
    name: string;
    host: string | null;
    path: string;
    algorithm: string;
    pool: string | null;
    split: { pool: string; weight: number }[] | null;
    backends: { backend: string; weight: number }[];
  }[];
  backends: BackendStatus[];
}

interface BackendStatus {
  backend: string;
  url: string;
  health: string;
  checks: string;
  weight: number | null;
  in_flight: number;
  requests_per_second: number;
  error_rate: number;
  requests_last_minute: number;
  errors_last_minute: number;
  runtime_changes: string[];
  routes: string[];
}

const POLL_MS = 1000;

/**
 * The status page served at `GET /status` on the admin listener: a self-contained HTML document
 * that polls `api/status` every second and shows each backend's health, load and error rate, and
 * each route's pool.
 */
export function statusPageHtml(): string {
  return PAGE;
}

// The browser part is written as a typed function and sent as its own source text, so the type
// check covers it against the DOM library; it must therefore use nothing from outside its body.
function runStatusPage(pollMs: number): void {
  const SEVERITY: Record<string, number> = { down: 0, ejected: 1, draining: 2, up: 3 };
  const STATES = ['up', 'down', 'ejected', 'draining'];
  const CHANGES: Record<string, string> = { drained: 'drained at run time', weight: 'weight set at run time' };
  const PROBES: Record<string, string> = { up: 'passing', down: 'failing', unknown: 'pending', off: 'off' };
  const TOKEN_KEY = 'switchyard-admin-token';

  const byId = (id: string) => document.getElementById(id)!;
  const filterBox = byId('filter') as HTMLInputElement;
  const stateBox = byId('state') as HTMLSelectElement;
  const backendBody = (byId('backends') as HTMLTableElement).tBodies[0];
  const routeBody = (byId('routes') as HTMLTableElement).tBodies[0];
  const backendRows = new Map<string, HTMLTableRowElement>();
  const routeRows = new Map<string, HTMLTableRowElement>();
  let last: Status | undefined;
  let lastAt = 0;
  let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  let timer: number | undefined;

  // Writing only what changed keeps a text selection and avoids needless layout at 200 rows.
  function setText(element: Element, text: string): void {
    if (element.textContent !== text) element.textContent = text;
  }

  function element<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text) made.textContent = text;
    return made;
  }

  function badge(health: string): HTMLSpanElement {
    return setBadge(element('span'), health);
  }

  function setBadge(span: HTMLElement, health: string): HTMLElement {
    const className = `badge health-${STATES.includes(health) ? health : 'other'}`;
    if (span.className !== className) span.className = className;
    setText(span, health);
    return span;
  }

  function time(iso: string): string {
    const date = new Date(iso);
    const sameDay = date.toDateString() === new Date().toDateString();
    return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
  }

  function ago(iso: string): string {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }

  function rate(perSecond: number): string {
    if (perSecond === 0) return '0';
    if (perSecond < 0.1) return perSecond.toFixed(2);
    if (perSecond < 10) return perSecond.toFixed(1);
    return Math.round(perSecond).toLocaleString();
  }

  function percent(fraction: number): string {
    const value = fraction * 100;
    if (value === 0) return '0%';
    if (value < 0.1) return '<0.1%';
    return `${value < 10 ? value.toFixed(1) : Math.round(value)}%`;
  }

  async function poll(): Promise<void> {
    timer = undefined;
    try {
      const response = await fetch('api/status', {
        cache: 'no-store',
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(Math.max(3 * pollMs, 3000)),
      });
      if (response.status === 401) return askForToken();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      last = (await response.json()) as Status;
      lastAt = Date.now();
      render(last);
      showProblem('');
    } catch (error) {
      showProblem(error instanceof Error ? error.message : String(error));
    }
    timer = window.setTimeout(poll, pollMs);
  }

  // The old data stays on screen, dimmed and dated, so a person sees both what was and that it may
  // no longer be so.
  function showProblem(reason: string): void {
    const banner = byId('banner');
    document.body.classList.toggle('stale', reason !== '');
    banner.hidden = reason === '';
    if (!reason) return;
    const shown = lastAt ? ` Showing data from ${new Date(lastAt).toLocaleTimeString()}, ${Math.round((Date.now() - lastAt) / 1000)} s old.` : '';
    setText(banner, `Status unavailable, retrying (${reason}).${shown}`);
  }

  // A listener bound beyond loopback needs a bearer token, which a browser does not send by itself.
  function askForToken(): void {
    showProblem(token ? 'the admin token was refused' : 'this admin listener needs a token');
    byId('token-form').hidden = false;
  }

  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = (byId('token') as HTMLInputElement).value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    byId('token-form').hidden = true;
    if (timer !== undefined) clearTimeout(timer);
    void poll();
  });

  function render(status: Status): void {
    renderConfig(status.config);
    renderSummary(status.backends, status.routes.length);
    renderBackends(status);
    renderRoutes(status);
    applyFilter();
    setText(byId('updated'), `updated ${new Date(lastAt).toLocaleTimeString()}`);
  }

  function renderConfig(config: Status['config']): void {
    setText(byId('source'), config.source);
    const loaded = byId('loaded');
    setText(loaded, `${time(config.loaded_at)} (${ago(config.loaded_at)})`);
    loaded.title = config.loaded_at;
    setText(byId('reloads'), `${config.reloads.success} succeeded, ${config.reloads.failure} failed`);
    const lastReload = config.last_reload;
    const result = byId('last-reload');
    setText(result, lastReload ? `${lastReload.result === 'success' ? 'succeeded' : 'FAILED'} at ${time(lastReload.at)} (${ago(lastReload.at)})` : 'none');
    result.className = lastReload?.result === 'failure' ? 'failed' : '';
    const failed = lastReload?.result === 'failure';
    const box = byId('reload-errors');
    box.hidden = !failed;
    if (!failed) return;
    setText(byId('reload-errors-title'), `The reload at ${time(lastReload.at)} failed; the config loaded at ${time(config.loaded_at)} is still serving.`);
    const list = byId('reload-errors-list');
    const errors = lastReload.errors ?? [];
    if (list.textContent !== errors.join('')) list.replaceChildren(...errors.map((text) => element('li', '', text)));
  }

  function renderSummary(backends: BackendStatus[], routes: number): void {
    const counts = new Map(STATES.map((state) => [state, 0]));
    let perSecond = 0;
    let requests = 0;
    let errors = 0;
    for (const backend of backends) {
      counts.set(backend.health, (counts.get(backend.health) ?? 0) + 1);
      perSecond += backend.requests_per_second;
      requests += backend.requests_last_minute;
      errors += backend.errors_last_minute;
    }
    const parts: (Node | string)[] = [`${backends.length} backends: `];
    for (const [state, count] of counts) {
      if (parts.length > 1) parts.push(' · ');
      const part = element('span', count === 0 && state !== 'up' ? 'none' : '');
      part.dataset.count = state;
      part.append(`${count} `, badge(state));
      parts.push(part);
    }
    const counted = byId('counts');
    const text = parts.map((part) => (typeof part === 'string' ? part : part.textContent)).join('');
    if (counted.textContent !== text) counted.replaceChildren(...parts);
    setText(byId('traffic'), `${rate(perSecond)} req/s, ${requests ? percent(errors / requests) : 'no'} errors over the last minute · ${routes} routes`);
  }

  function renderBackends(status: Status): void {
    // A backend's weight is per route; the same name twice in a pool would be one backend twice.
    const weights = new Map<string, Map<string, number>>();
    for (const route of status.routes) {
      for (const { backend, weight } of route.backends) weights.set(backend, (weights.get(backend) ?? new Map()).set(route.name, weight));
    }
    const sorted = [...status.backends].sort(
      (a, b) => (SEVERITY[a.health] ?? -1) - (SEVERITY[b.health] ?? -1) || a.backend.localeCompare(b.backend, undefined, { numeric: true }),
    );
    const seen = new Set<string>();
    sorted.forEach((backend, index) => {
      seen.add(backend.backend);
      let row = backendRows.get(backend.backend);
      if (!row) {
        row = newBackendRow(backend.backend);
        backendRows.set(backend.backend, row);
      }
      updateBackendRow(row, backend, weights.get(backend.backend) ?? new Map());
      if (backendBody.rows[index] !== row) backendBody.insertBefore(row, backendBody.rows[index] ?? null);
    });
    for (const [name, row] of backendRows) {
      if (seen.has(name)) continue;
      row.remove();
      backendRows.delete(name);
    }
    byId('no-backends').hidden = sorted.length > 0;
  }

  function newBackendRow(name: string): HTMLTableRowElement {
    const row = element('tr');
    row.dataset.backend = name;
    for (const className of ['name', 'health', 'probes', 'num in-flight', 'num rate', 'num errors', 'num weight', 'routes', 'changes']) row.append(element('td', className));
    row.cells[0].textContent = name;
    row.cells[1].append(badge('unknown'));
    return row;
  }

  function updateBackendRow(row: HTMLTableRowElement, backend: BackendStatus, weightByRoute: Map<string, number>): void {
    const [name, health, probes, inFlight, perSecond, errors, weight, routes, changes] = row.cells;
    if (row.dataset.health !== backend.health) row.dataset.health = backend.health;
    name.title = backend.url;
    setBadge(health.firstElementChild as HTMLElement, backend.health);
    setText(probes, PROBES[backend.checks] ?? backend.checks);
    setText(inFlight, String(backend.in_flight));
    setText(perSecond, rate(backend.requests_per_second));
    perSecond.title = `${backend.requests_last_minute} requests in the last minute`;
    setText(errors, backend.requests_last_minute ? percent(backend.error_rate) : '–');
    errors.title = `${backend.errors_last_minute} errors of ${backend.requests_last_minute} requests in the last minute`;
    errors.classList.toggle('bad', backend.error_rate >= 0.05);
    const all = [...weightByRoute.values()];
    const [least, most] = [Math.min(...all), Math.max(...all)];
    setText(weight, backend.weight !== null ? String(backend.weight) : all.length === 0 ? '' : least === most ? String(least) : `${least}–${most}`);
    weight.classList.toggle('changed', backend.weight !== null);
    const inRoute = (route: string) => (backend.weight !== null || (weightByRoute.get(route) ?? 1) === 1 ? route : `${route} ×${weightByRoute.get(route)}`);
    setText(routes, backend.routes.map(inRoute).join(', '));
    const described = (change: string) => (change === 'weight' && backend.weight !== null ? `weight set to ${backend.weight} at run time` : (CHANGES[change] ?? change));
    setText(changes, backend.runtime_changes.map(described).join(', '));
  }

  function renderRoutes(status: Status): void {
    const health = new Map(status.backends.map((backend) => [backend.backend, backend.health]));
    const seen = new Set<string>();
    status.routes.forEach((route, index) => {
      const key = `${route.name}\n${route.host}\n${route.path}`;
      seen.add(key);
      let row = routeRows.get(key);
      if (!row) {
        row = newRouteRow(route);
        routeRows.set(key, row);
      }
      updateRouteRow(row, route, health);
      if (routeBody.rows[index] !== row) routeBody.insertBefore(row, routeBody.rows[index] ?? null);
    });
    for (const [key, row] of routeRows) {
      if (seen.has(key)) continue;
      row.remove();
      routeRows.delete(key);
    }
  }

  function newRouteRow(route: Status['routes'][number]): HTMLTableRowElement {
    const row = element('tr');
    row.dataset.route = route.name;
    row.append(element('td', 'name', route.name), element('td', 'name', `${route.host ?? '*'} ${route.path}`), element('td'), element('td'), element('td', 'pool'));
    // Long pools fold behind a toggle; the element stays across redraws so it stays open.
    const pool = row.cells[4];
    const details = element('details');
    details.append(element('summary'), element('div', 'chips'));
    pool.append(details);
    return row;
  }

  function updateRouteRow(row: HTMLTableRowElement, route: Status['routes'][number], health: Map<string, string>): void {
    const [, , algorithm, counts, pool] = row.cells;
    // A named pool or a split says so; a route that answers itself says what with (`redirect 308`).
    setText(algorithm, route.split ? `split ${route.split.map((side) => `${side.pool} ${side.weight}`).join(', ')}` : route.pool ? `pool ${route.pool}, ${route.algorithm}` : route.algorithm);
    const up = route.backends.filter(({ backend }) => health.get(backend) === 'up').length;
    setText(counts, route.backends.length === 0 ? 'no backends' : `${up} of ${route.backends.length} up`);
    counts.classList.toggle('bad', up === 0 && route.backends.length > 0);
    const details = pool.firstElementChild as HTMLDetailsElement;
    const folded = route.backends.length > 8;
    if (!folded) details.open = true;
    const summary = details.firstElementChild as HTMLElement;
    summary.hidden = !folded;
    setText(summary, `${route.backends.length} backends`);
    const chips = route.backends.map(({ backend, weight }) => {
      const chip = element('span', 'chip');
      chip.append(weight === 1 ? backend : `${backend} ×${weight}`);
      const state = health.get(backend) ?? 'unknown';
      if (state !== 'up') chip.append(' ', badge(state));
      return chip;
    });
    const list = details.lastElementChild as HTMLElement;
    const text = chips.map((chip) => chip.textContent).join('\n');
    if (list.dataset.text !== text) {
      list.dataset.text = text;
      list.replaceChildren(...chips);
    }
  }

  function applyFilter(): void {
    const words = filterBox.value.toLowerCase().split(/\s+/).filter(Boolean);
    const state = stateBox.value;
    const matches = (text: string) => words.every((word) => text.includes(word));
    let shown = 0;
    for (const backend of last?.backends ?? []) {
      const row = backendRows.get(backend.backend);
      if (!row) continue;
      const wanted = (state === 'all' || (state === 'problems' ? backend.health !== 'up' : backend.health === state)) && matches(`${backend.backend} ${backend.url} ${backend.health} ${backend.routes.join(' ')}`.toLowerCase());
      row.hidden = !wanted;
      if (wanted) shown++;
    }
    const total = last?.backends.length ?? 0;
    setText(byId('shown'), shown === total ? '' : `showing ${shown} of ${total} backends`);
    for (const route of last?.routes ?? []) {
      const row = routeRows.get(`${route.name}\n${route.host}\n${route.path}`);
      if (row) row.hidden = !matches(`${route.name} ${route.host ?? ''} ${route.path} ${route.algorithm} ${route.pool ?? ''} ${route.split?.map((side) => side.pool).join(' ') ?? ''} ${route.backends.map(({ backend }) => backend).join(' ')}`.toLowerCase());
    }
  }

  filterBox.addEventListener('input', applyFilter);
  stateBox.addEventListener('change', applyFilter);
  void poll();
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #fff; --line: #d1d9e0; --head: #f6f8fa;
  --up: #1a7f37; --down: #cf222e; --ejected: #bc4c00; --draining: #4a6785; --other: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #3d444d; --head: #151b23; } }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1rem 2rem; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .2rem 1.5rem; padding: .6rem 0 .4rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.15rem; margin: 0; }
h2 { font-size: 1rem; margin: 1.1rem 0 .3rem; }
dl { display: flex; flex-wrap: wrap; gap: .1rem 1.2rem; margin: 0; flex: 1 1 0; min-width: 20rem; }
dl div { display: flex; gap: .35rem; }
dt { color: var(--muted); }
dd { margin: 0; }
#updated { color: var(--muted); margin-left: auto; white-space: nowrap; }
.failed { color: var(--down); font-weight: 600; }
.notice { border: 1px solid; border-radius: 4px; padding: .4rem .7rem; margin: .6rem 0 0; font-weight: 600; }
#banner { background: #fff8c5; border-color: #d4a72c; color: #3b2300; }
#reload-errors { background: #ffebe9; border-color: #ff8182; color: #5f0a0a; }
#reload-errors ul { margin: .3rem 0 0; padding-left: 1.2rem; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
#token-form { margin: .6rem 0 0; }
body.stale #summary, body.stale table { opacity: .45; }
#summary { margin: .7rem 0 .3rem; font-size: 14px; }
#summary .none { color: var(--muted); }
#summary .none .badge { opacity: .4; }
#traffic { color: var(--muted); margin-left: .8rem; font-size: 13px; }
.controls, .controls label { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; margin: .4rem 0; }
.controls label { gap: .4rem; margin: 0; }
.controls input { width: 22rem; max-width: 100%; font: inherit; padding: 2px 6px; }
#shown { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 1px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; white-space: nowrap; }
thead th { position: sticky; top: 0; background: var(--head); font-weight: 600; z-index: 1; }
tbody tr:hover { background: var(--head); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.name, .chip { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
td.routes, td.changes, td.pool { white-space: normal; }
td.changes, .changed { color: var(--ejected); }
.bad { color: var(--down); font-weight: 600; }
.badge { display: inline-block; min-width: 4.6em; padding: 0 .45em; border-radius: 3px; color: #fff; font: 600 12px/1.45 system-ui, sans-serif; text-align: center; }
.health-up { background: var(--up); }
.health-down { background: var(--down); }
.health-ejected { background: var(--ejected); }
.health-draining { background: var(--draining); }
.health-other { background: var(--other); }
.chips { display: flex; flex-wrap: wrap; gap: .15rem .9rem; }
.chip .badge { min-width: 0; }
summary { cursor: pointer; color: var(--muted); }
#no-backends { color: var(--muted); }
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Switchyard status</h1>
<dl>
<div><dt>config</dt><dd id="source" class="name">…</dd></div>
<div><dt>loaded</dt><dd id="loaded">…</dd></div>
<div><dt>reloads</dt><dd id="reloads">…</dd></div>
<div><dt>last reload</dt><dd id="last-reload">…</dd></div>
</dl>
<span id="updated">loading…</span>
</header>
<div id="banner" class="notice" role="alert" hidden></div>
<form id="token-form" hidden><label>Admin token <input id="token" type="password" autocomplete="off"></label> <button>Use</button></form>
<div id="reload-errors" class="notice" role="alert" hidden><span id="reload-errors-title"></span><ul id="reload-errors-list"></ul></div>
<main>
<p id="summary"><span id="counts" aria-live="polite"></span><span id="traffic"></span></p>
<div class="controls">
<label>Filter <input id="filter" type="search" placeholder="backend, route or state" autocomplete="off"></label>
<label>Show <select id="state"><option value="all">all backends</option><option value="problems">not up</option><option value="up">up</option><option value="down">down</option><option value="ejected">ejected</option><option value="draining">draining</option></select></label>
<span id="shown"></span>
</div>
<h2>Routes</h2>
<table id="routes">
<thead><tr><th>route</th><th>host and path</th><th>pool and algorithm</th><th>health</th><th>backends</th></tr></thead>
<tbody></tbody>
</table>
<h2>Backends</h2>
<table id="backends">
<thead><tr><th>backend</th><th>health</th><th>probes</th><th class="num">in flight</th><th class="num">req/s</th><th class="num">errors</th><th class="num">weight</th><th>routes</th><th>changed at run time</th></tr></thead>
<tbody></tbody>
</table>
<p id="no-backends" hidden>No backends.</p>
</main>
<script>(${String(runStatusPage)})(${POLL_MS});</script>
</body>
</html>
`;

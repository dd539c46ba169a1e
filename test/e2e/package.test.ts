import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, constants, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/startBalancer.ts';
import { startTestBackend, type TestBackend } from '../helpers/testBackend.ts';

// The package as its users get it: `npm pack` from a copy of the sources (so the pack scripts run
// as on a release, without touching this checkout's dist/), installed from the tarball into a
// fresh project, then run the three documented ways (docs/deploy.md#install).

const run = promisify(execFile);
const DENO = join(PROJECT_ROOT, 'node_modules/deno/deno');
const WRANGLER = join(PROJECT_ROOT, 'node_modules/wrangler/bin/wrangler.js');
const PACKAGE = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const SOURCES = ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'src', 'examples', 'schema'];

/** The environment without what the `npm test` around this file set for its own scripts. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
// wrangler dev's registry of its own, apart from the other test files' sessions of a Worker of the same name.
Object.assign(env, { NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false', WRANGLER_REGISTRY_PATH: await mkdtemp(join(tmpdir(), 'switchyard-registry-')) });

let root: string;
let project: string;
let installed: string;
let packedFiles: string[];
let backend: TestBackend;
const running = new Set<ChildProcess>();

async function sh(command: string, args: string[], cwd: string, timeout = 60_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Starts a server in its own process group (npx and deno task put processes in between) and waits for `listening on`. */
function serve(command: string, args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(command, args, { cwd: project, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (killGroup(child, 'SIGKILL'), reject(new Error(`no "listening on" line within 30 s:\n${output}`))), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: match[1],
        stop: async () => {
          killGroup(child, 'SIGTERM');
          const force = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
          await exited;
          clearTimeout(force);
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited with ${code} before listening:\n${output}`))));
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'switchyard-package-'));
  const source = join(root, 'source');
  await mkdir(source);
  await Promise.all(SOURCES.map((name) => cp(join(PROJECT_ROOT, name), join(source, name), { recursive: true })));
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(source, 'node_modules'));
  // A leftover of an older build, which prepack must keep out of the tarball.
  await mkdir(join(source, 'dist/gone'), { recursive: true });
  await writeFile(join(source, 'dist/gone/stale.js'), 'export {};\n');

  const packed = await sh('npm', ['pack', '--json', '--pack-destination', root], source, 120_000);
  const [tarball] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  packedFiles = tarball.files.map((file) => file.path);

  project = join(root, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'balancer-user', private: true }));
  await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(root, tarball.filename)], project, 120_000);
  installed = join(project, 'node_modules', PACKAGE.name);

  backend = await startTestBackend('installed');
  await writeFile(join(project, 'lb.yaml'), `paths:\n  - path: /\n    servers: [${backend.address}]\n`);
}, 240_000);

afterAll(async () => {
  for (const child of running) killGroup(child, 'SIGKILL');
  await backend?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the tarball', () => {
  it('holds the build, the sources its maps and the Deno and Workers users need, the examples, the schema and the licence', () => {
    for (const file of ['package.json', 'README.md', 'LICENSE', 'dist/cli.js', 'src/deno.ts', 'src/workers.ts', 'examples/loadbalancer.yaml', 'schema/switchyard.schema.json']) {
      expect(packedFiles).toContain(file);
    }
    expect(packedFiles.filter((file) => !/^(dist|src|examples|schema)\/|^(package\.json|README\.md|LICENSE)$/.test(file))).toEqual([]);
    expect(packedFiles.filter((file) => file.startsWith('dist/gone/'))).toEqual([]);
  });

  it('has a source for every source map entry', async () => {
    const maps = packedFiles.filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const file = join(dirname(map), source);
        if (!packedFiles.includes(file)) missing.push(`${map} -> ${file}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('points bin and every export at a file it holds', async () => {
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, string> };
    expect(Object.keys(manifest.bin)).toEqual(['switchyard']);
    for (const target of [...Object.values(manifest.bin), ...Object.values(manifest.exports)]) {
      expect(packedFiles).toContain(target.replace(/^\.\//, ''));
    }
  });
});

describe('a Node user (npx switchyard in the project)', { timeout: 60_000 }, () => {
  it('prints the version', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'switchyard', '--version'], project);
    expect(stdout.trim()).toBe(PACKAGE.version);
  });

  it('checks the shipped example config', async () => {
    const { stdout } = await sh('npx', ['--no-install', 'switchyard', 'check', '--config', `node_modules/${PACKAGE.name}/examples/loadbalancer.yaml`], project);
    expect(stdout).toContain('loadbalancer.yaml: ok');
    expect(stdout).toContain('3 routes, 6 backends');
  });

  it('serves on port 0 and answers on loopback', async () => {
    const server = await serve('npx', ['--no-install', 'switchyard', 'serve', '--config', 'lb.yaml', '--port', '0', '--hostname', '127.0.0.1']);
    try {
      const response = await fetch(`${server.url}/from-npx`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ name: 'installed', url: '/from-npx' });
    } finally {
      await server.stop();
    }
  });
});

describe('a Deno user (a deno.json task running the installed package)', { timeout: 60_000 }, () => {
  it('serves on port 0 and answers on loopback', async () => {
    // The deno.json of docs/deploy.md#deno. Deno 2.9 refuses to strip types from files under
    // node_modules, so the task runs the package's JavaScript build (its bin), not src/deno.ts.
    await writeFile(
      join(project, 'deno.json'),
      JSON.stringify({
        nodeModulesDir: 'manual',
        lock: false,
        unstable: ['no-legacy-abort'],
        tasks: { serve: `deno run --allow-net --allow-read --allow-env npm:${PACKAGE.name} serve` },
      }),
    );
    const server = await serve(DENO, ['task', 'serve', '--config', 'lb.yaml', '--port', '0', '--hostname', '127.0.0.1']);
    try {
      const response = await fetch(`${server.url}/from-deno`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ name: 'installed', url: '/from-deno' });
    } finally {
      await server.stop();
    }
  });
});

describe('a Workers user (the installed Worker entry, bundled by wrangler)', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    // The wrangler.toml of docs/deploy.md#cloudflare-workers.
    await writeFile(
      join(project, 'wrangler.toml'),
      [
        'name = "my-balancer"',
        `main = "node_modules/${PACKAGE.name}/src/workers.ts"`,
        'compatibility_date = "2026-04-20"',
        'compatibility_flags = ["enable_request_signal"]',
        'rules = [{ type = "Text", globs = ["**/*.yaml"], fallthrough = true }]',
        '',
      ].join('\n'),
    );
    await writeFile(join(project, 'worker.ts'), `export { default } from '${PACKAGE.name}/workers';\n`);
  });

  it.each([
    ['main in wrangler.toml', []],
    ['a worker.ts importing the package export', ['worker.ts']],
  ])('builds the bundle with wrangler deploy --dry-run: %s', async (_, script) => {
    const outdir = join(root, `worker-${script.length}`);
    const { stdout } = await sh(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, ...script], project, 60_000);
    expect(stdout).toContain('--dry-run: exiting now.');
    const bundle = await readdir(outdir);
    expect(bundle.some((file) => file.endsWith('loadbalancer.yaml'))).toBe(true);
    const code = await readFile(join(outdir, bundle.find((file) => file.endsWith('.js'))!), 'utf8');
    expect(code).toContain('isolateBalancer');
  });
});

/** A unit file's settings, `[Section] Key` -> values in order (comments and blank lines dropped). */
function parseUnit(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const [key, ...value] = line.split('=');
    const name = `[${section}] ${key}`;
    settings.set(name, [...(settings.get(name) ?? []), value.join('=')]);
  }
  return settings;
}

describe('the systemd unit (examples/systemd/switchyard.service)', { timeout: 60_000 }, () => {
  const UNIT = join(PROJECT_ROOT, 'examples/systemd/switchyard.service');
  const PREFIX = '/opt/switchyard';
  let unit: Map<string, string[]>;
  let text: string;
  /** The unit with the install prefix moved to the test's fresh install, as `npm install --prefix` lays it out. */
  const local = (command: string) => command.replaceAll(PREFIX, project).replaceAll('/etc/switchyard/lb.yaml', join(project, 'lb.yaml'));

  beforeAll(async () => {
    text = await readFile(UNIT, 'utf8');
    unit = parseUnit(text);
  });

  it('starts the installed command, stops with SIGTERM after the drain and reloads with SIGHUP', () => {
    const [start] = unit.get('[Service] ExecStart')!;
    expect(start).toMatch(new RegExp(`^${PREFIX}/node_modules/\\.bin/(\\S+) serve --config \\S+`));
    expect(Object.keys(PACKAGE.bin)).toContain(/\.bin\/(\S+)/.exec(start)![1]);
    expect(unit.get('[Service] ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(unit.get('[Service] KillSignal')).toEqual(['SIGTERM']);
    expect(Number.parseInt(unit.get('[Service] TimeoutStopSec')![0], 10)).toBeGreaterThan(30);
    expect(unit.get('[Service] AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(unit.get('[Service] DynamicUser')).toEqual(['yes']);
  });

  it('names a command that the package installs, and its ExecStartPre check passes', async () => {
    const [start] = unit.get('[Service] ExecStart')!;
    await access(local(start.split(' ')[0]), constants.X_OK);
    const [pre] = unit.get('[Service] ExecStartPre')!;
    const [command, ...args] = local(pre).split(' ');
    const { stdout } = await sh(command, args, project);
    expect(stdout).toContain('lb.yaml: ok');
  });

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify with no warning', async () => {
    const file = join(root, 'switchyard.service');
    await writeFile(file, local(text));
    const { stdout, stderr } = await sh('systemd-analyze', ['verify', file], root);
    expect(stdout + stderr).toBe('');
  });
});

describe('the container recipe (Dockerfile)', () => {
  let instructions: [string, string][];
  let allowed: string[];

  beforeAll(async () => {
    const dockerfile = (await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ');
    instructions = dockerfile
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'))
      .map((line) => /^(\w+)\s+(.*)$/.exec(line)!.slice(1, 3) as [string, string]);
    allowed = (await readFile(join(PROJECT_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/\*\*$/, ''));
  });

  it('copies sources that exist and .dockerignore lets through, which cover what the package and its build need', () => {
    const copied = instructions
      .filter(([name, args]) => name === 'COPY' && !args.startsWith('--from'))
      .flatMap(([, args]) => args.split(/\s+/).slice(0, -1));
    for (const source of copied) {
      expect(existsSync(join(PROJECT_ROOT, source)), source).toBe(true);
      expect(allowed, source).toContain(source);
    }
    expect(copied).toEqual(expect.arrayContaining([...SOURCES, 'package-lock.json']));
  });

  it('runs the tarball of this package as the package\'s command, as a non-root user, on every address', () => {
    const run = instructions.filter(([name]) => name === 'RUN').map(([, args]) => args).join('\n');
    expect(run).toContain(`${PACKAGE.name}-*.tgz`);
    const last = (name: string) => instructions.filter(([n]) => n === name).at(-1)?.[1];
    expect(last('USER')).toBe('node');
    expect(JSON.parse(last('ENTRYPOINT')!)).toEqual([Object.keys(PACKAGE.bin)[0]]);
    expect(JSON.parse(last('CMD')!)).toEqual(expect.arrayContaining(['serve', '--hostname', '0.0.0.0']));
    expect(instructions.filter(([name]) => name === 'FROM').every(([, image]) => image.startsWith('node:'))).toBe(true);
  });
});

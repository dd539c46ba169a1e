import { describe, expect, it } from 'vitest';
import { listenFailure, readFailure } from '../../src/cli/CommandFailure.ts';
import { parseCommandLine } from '../../src/cli/parseCommandLine.ts';
import { loadConfig } from '../../src/core/config/loadConfig.ts';
import { jsonSyntaxError } from '../../src/core/config/strictJson.ts';
import { errorsOf } from '../helpers/configErrors.ts';


describe('a .json config is strict JSON', () => {
  it.each([
    ['{"a": 1,}', 7, 'a trailing comma after the last entry, which JSON does not allow'],
    ['{"a": [1, 2, ]}', 11, 'a trailing comma after the last item, which JSON does not allow'],
    ['{"a": 1 // note\n}', 8, 'a comment, which JSON does not allow'],
    ['# note\n{}', 0, 'a comment, which JSON does not allow'],
    ["{'a': 1}", 1, 'a single-quoted string; JSON strings take double quotes'],
    ['{a: 1}', 1, 'a key without quotes; JSON keys are double-quoted strings'],
    ['{"a": 1', 7, 'the JSON ends before "," or "}"'],
    ['{"a": 1} x', 9, 'unexpected "x"; expected the end of the JSON'],
    ['{"a": 01}', 7, 'unexpected "1"; expected "," or "}"'],
  ])('finds where %j stops being JSON', (text, offset, message) => {
    expect(jsonSyntaxError(text)).toEqual({ offset, message });
  });

  it('finds nothing wrong with JSON', () => {
    expect(jsonSyntaxError('{"paths": [{"path": "/", "servers": ["a:1", {"url": "b:2", "weight": 2.5e0}], "x": [true, false, null, "\\"}"]}]}')).toBeUndefined();
  });

  it('refuses, at its place, what YAML would have read', () => {
    expect(errorsOf('{\n  "paths": [{ "path": "/", "servers": ["localhost:1"], }]\n}\n', 'lb.json')).toEqual([
      'lb.json:2:54: a trailing comma after the last entry, which JSON does not allow (a .json config is strict JSON; YAML, which allows more, goes in a .yaml file)',
    ]);
    // The same text in a YAML file, or in LB_CONFIG, is YAML.
    expect(loadConfig('{ "paths": [{ "path": "/", "servers": ["localhost:1"], }] }', 'lb.yaml').backends).toHaveLength(1);
  });
});

describe('config messages', () => {
  it('says the top level must be a mapping with hosts and/or paths', () => {
    expect(errorsOf('- host: a.example\n  servers: [localhost:1]\n')).toEqual(['lb.yaml:1:1: the config must be a mapping with hosts and/or paths at the top level, not a list']);
    expect(errorsOf('[]', 'lb.json')).toEqual(['lb.json:1:1: the config must be a mapping with hosts and/or paths at the top level, not a list']);
    expect(errorsOf('localhost:8081\n')).toEqual(['lb.yaml:1:1: the config must be a mapping with hosts and/or paths at the top level, not a single value']);
  });

  it('suggests a port for a server without one, as host:port or as a URL', () => {
    expect(errorsOf('paths: [{ path: /, servers: [localhost, "[::1]", { url: backend.internal }] }]')).toEqual([
      'lb.yaml:1:30: paths[0].servers[0]: "localhost" has no port: write "localhost:PORT", or "http://localhost" for port 80',
      'lb.yaml:1:41: paths[0].servers[1]: "[::1]" has no port: write "[::1]:PORT", or "http://[::1]" for port 80',
      'lb.yaml:1:57: paths[0].servers[2].url: "backend.internal" has no port: write "backend.internal:PORT", or "http://backend.internal" for port 80',
    ]);
  });
});

describe('command-line messages', () => {
  it.each([
    [['serve', '--prot', '80'], 'unknown option --prot; did you mean --port?'],
    [['serve', '--prot=80'], 'unknown option --prot; did you mean --port?'],
    [['serve', '--hostnme', 'a'], 'unknown option --hostnme; did you mean --hostname?'],
    [['check', '--conifg', 'a'], 'unknown option --conifg; did you mean --config?'],
    [['serve', '-P', '80'], 'unknown option -P; did you mean -p?'],
    [['serve', '-x'], 'unknown option -x; the options are -c/--config, -p/--port, -H/--hostname, --access-log, --admin, --watch, --workers, -h/--help, -v/--version'],
    [['serve', '--port'], 'option --port needs a value'],
    [['--help=yes'], 'option --help takes no value'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(expect.objectContaining({ name: 'UsageError', message }));
  });

  it('names the address it cannot listen on, and why', () => {
    const error = (code: string, syscall = 'listen') => Object.assign(new Error(code), { code, syscall });
    expect(listenFailure(error('EADDRINUSE'), '127.0.0.1', 8080)?.message).toBe('cannot listen on 127.0.0.1:8080: address already in use');
    expect(listenFailure(error('EADDRINUSE'), '::1', 8080)?.message).toBe('cannot listen on [::1]:8080: address already in use');
    expect(listenFailure(error('EACCES'), '0.0.0.0', 80)?.message).toBe('cannot listen on 0.0.0.0:80: permission denied (ports below 1024 need privileges)');
    expect(listenFailure(error('ENOTFOUND', 'getaddrinfo'), 'lb.example', 8080)?.message).toBe('cannot listen on lb.example:8080: the host name cannot be resolved');
    expect(listenFailure(error('EAI_AGAIN', 'getaddrinfo'), 'lb.example', 8080)?.message).toBe('cannot listen on lb.example:8080: the host name cannot be resolved (DNS did not answer)');
    expect(listenFailure(error('EADDRNOTAVAIL'), '192.0.2.1', 8080)?.message).toBe('cannot listen on 192.0.2.1:8080: no network interface of this machine has that address');
    expect(listenFailure(new Error('other'), '127.0.0.1', 8080)).toBeUndefined();
  });

  it('does not take a listen error for a read error', () => {
    expect(readFailure(Object.assign(new Error('EACCES'), { code: 'EACCES', syscall: 'listen' }), 'lb.yaml')).toBeUndefined();
    expect(readFailure(Object.assign(new Error('EACCES'), { code: 'EACCES', syscall: 'open' }), '/etc/lb.yaml')?.message).toBe('cannot read /etc/lb.yaml: permission denied');
  });
});

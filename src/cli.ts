#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from './core/config/ConfigError.ts';
import { loadConfig } from './core/config/loadConfig.ts';
import { describeConfig } from './describeConfig.ts';
import { startNodeServer } from './server/startServer.ts';

const HELP = `Usage: switchyard <command> [options]

Commands:
  serve --config FILE [--port 8080] [--hostname 127.0.0.1]
        Serve the load balancer. --port 0 picks a free port. Prints
        "listening on http://HOST:PORT" once ready; SIGTERM or SIGINT
        stops accepting, finishes in-flight requests and exits 0.
  check --config FILE
        Validate a config, like nginx -t: print a summary and exit 0,
        or print each error as FILE:LINE:COL: field: message and exit 1.

Options:
  -h, --help     Show this help
  -v, --version  Show the version
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      hostname: { type: 'string', short: 'H' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.version) {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    console.log(pkg.version);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    (command || values.help ? console.log : console.error)(HELP);
    return values.help ? 0 : 2;
  }
  if (command !== 'serve' && command !== 'check') {
    console.error(`switchyard: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (!values.config) {
    console.error(`switchyard ${command}: --config FILE is required`);
    return 2;
  }
  return command === 'check' ? check(values.config) : serveCommand(values.config, values.port, values.hostname);
}

async function check(file: string): Promise<number> {
  const loaded = loadConfig(await readFile(file, 'utf8'), file);
  console.log(`${file}: ok`);
  console.log(describeConfig(loaded));
  return 0;
}

async function serveCommand(file: string, portText = '8080', hostname = '127.0.0.1'): Promise<number> {
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    console.error(`switchyard serve: --port ${portText} is not a port number (0-65535)`);
    return 2;
  }
  const server = await startNodeServer({ configFile: file, port, hostname });
  console.log(`listening on ${server.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
    } else if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') {
      console.error(`switchyard: cannot read ${(error as NodeJS.ErrnoException).path}: no such file`);
    } else if ((error as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
      console.error(`switchyard: cannot listen: address already in use`);
    } else if ((error as Error)?.name === 'TypeError' && (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`switchyard: ${(error as Error).message}`);
    } else {
      console.error(`switchyard: ${error instanceof Error ? error.message : String(error)}`);
    }
    process.exit(1);
  },
);

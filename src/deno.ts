// The Deno entry point: `deno task serve --config FILE [--port 8080] [--hostname 127.0.0.1]`, the
// same command, server and output as `switchyard serve` on Node, through Deno's node:http.
import process from 'node:process';
import { describeFailure, runCommand } from './cli/commands.ts';

const args = process.argv.slice(2);
runCommand(args.includes('--help') || args.includes('-h') ? args : ['serve', ...args]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(describeFailure(error));
    process.exit(1);
  },
);

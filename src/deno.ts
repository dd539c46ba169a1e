// The Deno entry point: `deno task serve --config FILE [--port 8080] [--hostname 127.0.0.1]`, the
// same command, server and output as `switchyard serve` on Node, through Deno's node:http.
import process from 'node:process';
import { describeFailure, runCommand } from './cli/commands.ts';

// `deno task` runs in the folder of deno.json and says where it was called from in INIT_CWD (as
// npm does; one it inherits is kept): relative paths are the caller's, as on Node. Without
// --allow-env (a bare `deno run`) there is no task, and the working directory is the caller's.
const callerDirectory = Deno.permissions.querySync({ name: 'env', variable: 'INIT_CWD' }).state === 'granted' ? process.env.INIT_CWD : undefined;
if (callerDirectory) process.chdir(callerDirectory);

const args = process.argv.slice(2);
runCommand(args.includes('--help') || args.includes('-h') ? args : ['serve', ...args]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(describeFailure(error));
    process.exit(1);
  },
);

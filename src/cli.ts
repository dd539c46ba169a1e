#!/usr/bin/env node
// The Node entry point: `switchyard serve | check | --help` (src/cli/commands.ts).
import { describeFailure, runCommand } from './cli/commands.ts';

runCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(describeFailure(error));
    process.exit(1);
  },
);

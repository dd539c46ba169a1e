/**
 * Calls `stop` once the npm that started this process (`npx switchyard ...`, `npm start`) is gone.
 * npm does not pass SIGTERM on: it exits, its shell with it, and the server would run on, adopted
 * by init, where no supervisor can reach it. So a process that npm started (npm says so in
 * `npm_command`) watches for its parent to change and stops as it would on SIGTERM. A process
 * started any other way (systemd, a shell, `nohup ... &`) is left alone.
 * @returns a function that stops watching
 */
export function stopWithNpm(stop: () => void, env: Record<string, string | undefined> = process.env, intervalMs = 250): () => void {
  if (env.npm_command === undefined) return () => {};
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop();
  }, intervalMs);
  watch.unref?.();
  return () => clearInterval(watch);
}

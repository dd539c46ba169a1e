import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** How long the file must stay quiet before a reload: an editor's save is often several writes. */
const SETTLE_MS = 200;

/**
 * Calls `changed` once a config file has been written and has settled (`--watch`). The file's
 * directory is watched, not the file: editors that save by writing a new file and renaming it
 * over the old one, and Kubernetes, which swaps a ConfigMap's symlink, would leave a watch on
 * the old file seeing nothing. `changed` may be called for a save that changed nothing; the
 * reload then compares the text itself.
 * @returns stops watching
 */
export function watchConfig(file: string, changed: () => void, log: (line: string) => void): () => void {
  const name = basename(file);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changedName) => {
      // Some platforms do not say which file changed; a symlink swap names another entry (`..data`).
      if (changedName !== null && changedName !== name && !String(changedName).startsWith('..')) return;
      clearTimeout(timer);
      timer = setTimeout(changed, SETTLE_MS);
    });
  } catch (error) {
    log(`switchyard: --watch cannot watch ${dirname(file)}: ${error instanceof Error ? error.message : String(error)}; reload with SIGHUP instead`);
    return () => {};
  }
  watcher.on('error', (error) => log(`switchyard: --watch stopped: ${error.message}; reload with SIGHUP instead`));
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

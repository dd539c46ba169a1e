import type { LoadedConfig } from '../../core/config/loadConfig.ts';
import type { Backend } from '../../core/pool/Backend.ts';
import type { BackendView } from './messages.ts';

/** A backend as the primary sends it to its workers. */
export function backendView(backend: Backend, reason = ''): BackendView {
  const { health } = backend;
  return { id: backend.id, state: health.state, reason, ejectedUntil: health.ejectedUntil, cooldownMs: health.cooldownMs, ejections: health.ejections, draining: backend.draining, weight: backend.weight };
}

/** Makes a worker's backend what the primary says it is; a backend the config in use does not have is skipped. */
export function applyBackendView(config: LoadedConfig, view: BackendView): void {
  const backend = config.backends.find((candidate) => candidate.id === view.id);
  if (!backend) return;
  if (view.state !== 'unknown') backend.health.adoptVerdict(view.state, view.reason);
  if (view.ejectedUntil > 0) backend.health.adoptEjection(view.ejectedUntil, view.cooldownMs, view.ejections, 'ejected by another worker');
  backend.draining = view.draining;
  if (backend.weight !== view.weight) {
    backend.weight = view.weight;
    for (const pool of config.pools) if (pool.members.some((member) => member.backend === backend)) pool.reweigh();
  }
}

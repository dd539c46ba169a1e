// `node --import THIS_FILE`: makes `import('ioredis')` load the copy named by SWITCHYARD_IOREDIS, for
// the shared store's end-to-end tests while ioredis is not installed in node_modules (issue 16).
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const target = process.env.SWITCHYARD_IOREDIS;
if (target) {
  const url = pathToFileURL(target).href;
  register(`data:text/javascript,${encodeURIComponent(`export async function resolve(specifier, context, next) { return specifier === 'ioredis' ? { url: ${JSON.stringify(url)}, shortCircuit: true } : next(specifier, context); }`)}`);
}

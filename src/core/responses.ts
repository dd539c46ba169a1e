/** The balancer's own answers: a status with a short plain-text body. */
export function plainResponse(status: number, text: string, headers?: Record<string, string>): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

export const notFound = () => plainResponse(404, 'Not Found');
export const badRequest = (why: string) => plainResponse(400, `Bad Request: ${why}`);
export const noHealthyBackend = (routeName: string) => plainResponse(503, `Service Unavailable: no healthy backend for ${routeName}`);

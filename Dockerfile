# syntax=docker/dockerfile:1
# Switchyard in a container, built from this checkout (docs/deploy.md#container):
#   docker build -t switchyard .
#   docker run --rm -p 8080:8080 --stop-timeout 45 \
#     -v "$PWD/lb.yaml:/etc/switchyard/lb.yaml:ro" switchyard
# Not built or run in this repository's CI: its machines have no Docker daemon.
ARG NODE_VERSION=22

# The package tarball, made as a release makes it: `npm pack` runs the build (prepack, prepare).
FROM node:${NODE_VERSION}-bookworm-slim AS pack
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the build needs TypeScript, not the deno, workerd and esbuild binaries.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md LICENSE ./
COPY src ./src
COPY examples ./examples
COPY schema ./schema
RUN npm pack --pack-destination /tmp \
 && mv /tmp/switchyard-lb-*.tgz /tmp/switchyard-lb.tgz

# The image: Node, the package installed globally (its runtime dependencies only), no build tools.
# --ignore-scripts: neither the package nor its dependencies need one (its `prepare` only builds in
# a checkout, and npm 11 counts it as an install script for a tarball).
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
COPY --from=pack /tmp/switchyard-lb.tgz /tmp/switchyard-lb.tgz
RUN npm install --global --ignore-scripts --no-audit --no-fund /tmp/switchyard-lb.tgz \
 && rm /tmp/switchyard-lb.tgz \
 && npm cache clean --force
# The official image's unprivileged user. The config is mounted read-only at this path.
USER node
EXPOSE 8080
# SIGTERM: stop accepting, finish in-flight requests (30 s at most), exit 0. Docker's default stop
# timeout is 10 s: run with --stop-timeout 45 (compose: stop_grace_period: 45s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["switchyard"]
CMD ["serve", "--config", "/etc/switchyard/lb.yaml", "--port", "8080", "--hostname", "0.0.0.0"]

# syntax=docker/dockerfile:1
# The one image for every role: server, operator, CSI provider, KMS plugin (the manifests in deploy/ pick the role
# with the first argument). Build it from the repository root:
#   docker build -t ghcr.io/strongroom/strongroom:0.1.0 .
# Three stages: `build` compiles TypeScript and the console with dev dependencies, `deps` installs production
# dependencies only (compiling better-sqlite3 if no prebuilt binary fits), `runtime` holds just those and dist/.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here, and nothing native is needed to compile.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY test/support ./test/support
COPY ui ./ui
RUN npm run build

FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
# Production dependencies only. Of their install scripts, only better-sqlite3's matters (its native addon); the
# full bookworm image has python3, make and g++ for its fallback compile. Same Node major as runtime: same ABI.
RUN npm ci --omit=dev --ignore-scripts \
  && npm rebuild better-sqlite3 \
  && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Everything below is owned by root and only read at run time: the process (65532) cannot change its own code,
# and the container runs with a read-only root filesystem. Data, TLS material and /tmp are volumes (deploy/).
COPY package.json package-lock.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/ui ./dist/ui
COPY bin ./bin
COPY proto ./proto
# A named non-root user (numeric, so Kubernetes can verify runAsNonRoot); its home is not writable and not needed.
RUN groupadd --system --gid 65532 strongroom \
  && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin strongroom
USER 65532:65532
# Vault's port for the store; 8080 for the operator's metrics and probes.
EXPOSE 8200 8080
# No HEALTHCHECK: Kubernetes probes (deploy/) decide, and each role answers on its own port or socket.
ENTRYPOINT ["node", "/app/bin/strongroom"]
CMD ["--help"]

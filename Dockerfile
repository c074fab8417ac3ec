# syntax=docker/dockerfile:1
# One image for every service of the platform; the service is chosen at run time:
#   docker build -t g3d-platform .
#   docker run g3d-platform                              all-in-one (embedded PGlite in /data unless DATABASE_URL)
#   docker run g3d-platform --service identity           one service (or: -e SERVICE=identity)
#   docker run g3d-platform --service keygen|migrate     one-shot jobs
# Node 20 by default; the platform also runs on 22: docker build --build-arg NODE_IMAGE=node:22-bookworm-slim .
# No HEALTHCHECK here: the port differs per service, so docker-compose.yml defines one per service.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: every package.json + the lockfile, so the dependency layer below is rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out \
  && cp package-lock.json /out/ \
  && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \;

# ---- deps: node_modules and the generated Prisma client.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY --from=manifests /out/ ./
# The npm of the node images (10.x) ignores package.json "allowScripts" (npm 11 honours it) and would run every
# dependency's install script, @prisma/engines' engine download included. So no scripts here, then only the
# allowed one (esbuild); `npm run generate` is what the root postinstall runs (prisma generate, no engine needed).
# Dev dependencies stay: tsx, which runs the TypeScript sources, is one of them.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
  npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild esbuild
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm run generate

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
# Code and dependencies belong to root and are read-only for the service; only DATA_DIR is writable. The
# directories exist in the image so that fresh named volumes mounted on /data, /data/keys or the key bundles
# (/data/bundles/*, written by keygen) belong to node.
COPY --from=deps /app ./
COPY . .
RUN mkdir -p /data/keys /data/bundles/gateway /data/bundles/identity /data/bundles/subgraph \
  && chown -R node:node /data \
  && chmod 0700 /data/keys /data/bundles/gateway /data/bundles/identity /data/bundles/subgraph
USER node
EXPOSE 4000
ENTRYPOINT ["/bin/sh", "/app/docker/entrypoint.sh"]
# No default arguments: the entry point adds --service "${SERVICE:-all}" when none is given, so SERVICE works.
CMD []

# syntax=docker/dockerfile:1
# Vapor: build the SvelteKit app with every dependency, then run it from a slim
# image that holds only build/, the production node_modules and package.json.
# The Kysely migrations are bundled into build/ and run when the server starts.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# Manifests (and the patches npm ci applies after installing) first, so the
# npm ci layer is reused until they change.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
# BODY_SIZE_LIMIT: room for 10,000 points in one POST …/metrics (adapter-node's default is 512K).
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 VAPOR_DATA_DIR=/app/.vapor BODY_SIZE_LIMIT=4M
WORKDIR /app
# package.json is needed at run time: it marks build/*.js as ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
# Code stays root-owned and read-only for the app; only the embedded PGlite
# data folder (used when DATABASE_URL is unset) belongs to the node user.
RUN mkdir -p /app/.vapor && chown node:node /app/.vapor
USER node
EXPOSE 3000
# Slim images have no curl: ask node's own fetch. /healthz is 503 while the DB is away.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "build"]

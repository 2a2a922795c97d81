# Image for the API and the worker (same image, different command). The TypeScript is compiled at
# build time (`npm run build` into dist/) and run by node itself: no tsx loader, about 100 MB less
# resident memory per process than running the sources, and no npm process around it, so
# signals reach node directly. Used by docker-compose.yml.
FROM node:20-bookworm-slim

RUN mkdir -p /app/.data && chown -R node:node /app
WORKDIR /app
USER node

# Dependencies first, so they stay cached while only the source changes.
COPY --chown=node:node package.json package-lock.json ./
# npm ci rejects a lock that lacks optional binaries of other platforms; install then installs the
# same locked versions.
RUN (npm ci --no-audit --no-fund || npm install --no-save --no-audit --no-fund) && npm cache clean --force

COPY --chown=node:node . .
RUN npm run build

# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (the Temporal core's, libuv's, V8's
# helpers, the workflow thread) an arena of its own, up to 8 per core, and memory freed in one is
# not reused by another. Two arenas: in npm run bench the worker's peak RSS about 30-65 MB lower at
# the same CPU per delivery (docs/benchmark.md). The bench starts every process with it, as here.
# MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_: glibc's own starting values (128 KiB), fixed.
# Left to glibc, both rise each time a large block is freed (up to 32 and 64 MB), and large blocks
# then stay in the arenas once freed; fixed, they go back to the system. In npm run bench the
# worker's peak with 1,000 deliveries accepted at once about 50 MB lower (docs/benchmark.md).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
EXPOSE 3000

# docker-compose.yml overrides this with `node dist/src/worker.js` for the worker.
CMD ["node", "dist/src/server.js"]

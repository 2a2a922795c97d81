# Image for the API and the worker (same image, different command). TypeScript runs through tsx,
# so there is no build step. Used by docker-compose.yml.
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

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000

# docker-compose.yml overrides this with `npm run start:worker` for the worker.
CMD ["npm", "run", "start:api"]

# insight-logs: one image for every CLI command (forward, topics ensure, destinations apply,
# simulate, tail, demo …). Two stages: the build stage has the compiler and dev dependencies, the
# runtime stage only production dependencies and the compiled JavaScript.
#
#   docker build -t insight-logs:0.1.0 .
#   docker run --rm -e KAFKA_BROKERS=host:9092 insight-logs:0.1.0 topics ensure

# ---- build: compile TypeScript ---------------------------------------------------------
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so editing the source does not invalidate the npm layer.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY docker/tsconfig.build.json ./docker/
COPY schemas ./schemas
COPY src ./src
RUN npx tsc -p docker/tsconfig.build.json

# ---- runtime: production dependencies and dist/src only --------------------------------
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no compiler, test tools or Azurite in the image.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# The Avro schemas are read at run time (the package root is found by package.json + schemas/).
COPY schemas ./schemas
# `insight-logs demo` asks scripts/services.sh which local services answer (and where); the
# same files package.json `files` ships. The image has no Java, so with the services on the
# host: docker run --network host insight-logs:0.1.0 demo --out /tmp/demo-out
COPY scripts/services.sh ./scripts/services.sh
COPY scripts/kafka ./scripts/kafka
# The base image's unprivileged user; nothing under /app needs to be writable.
USER node
# /metrics, /healthz and /readyz of `forward --metrics-port 9464`.
EXPOSE 9464
# No curl in slim images: Node's fetch does the probe. Only `forward` serves /healthz, so
# compose turns this off for one-shot commands (init) and the simulator.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["forward"]

# syntax=docker/dockerfile:1
# The operator's image. The bases default to the public Node 24 images; e2e/cluster/image.ts builds
# with bases made on this machine instead (--build-arg BUILD_BASE=... --build-arg RUNTIME_BASE=...).
# The build base needs a shell, node, npm and npx; the runtime base only /nodejs/bin/node.
ARG BUILD_BASE=node:24-bookworm-slim
ARG RUNTIME_BASE=gcr.io/distroless/nodejs24-debian12:nonroot

# Compile with every dependency the lockfile names (the compiler is a devDependency), then drop
# what the operator's commands never load: the simulator, the demo and its scenarios, the `sim`
# command, and the source maps (they point at sources the image does not hold).
FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
 && rm -rf dist/sim dist/scenarios dist/cli/demo dist/cli/demo.js dist/cli/sim.js \
 && find dist -name '*.map' -exec rm {} +

# Production dependencies only, and a check that every command the image ships loads with them
# and the pruned dist/ alone.
FROM ${BUILD_BASE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /src/dist ./dist
RUN node --input-type=module -e "for (const c of ['main', 'operator', 'run', 'plan']) await import('./dist/cli/' + c + '.js')"

# Runtime: Node 24 and the operator, no shell, no package manager, not root.
FROM ${RUNTIME_BASE}
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=deps /src/dist ./dist
COPY package.json ./
COPY crds ./crds
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]
CMD ["operator"]
# Last, so a new version reuses every layer above: the version the image says it is (e2e/cluster
# builds pass their tag, so two versions of the same sources are two images).
ARG VERSION=dev
LABEL org.opencontainers.image.version=${VERSION}

# A first image that builds and runs the daemon (the deployment issue makes it multi-stage).
# No registry is reachable here: build FROM a local Debian base, e.g. one made with debootstrap
# and `docker import` (see shared lab notes).
ARG BASE=debian-bookworm-local
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm g++ make python3 iproute2 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tapbond
COPY package.json binding.gyp tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY src ./src
COPY scripts ./scripts
RUN npm install --no-audit --no-fund && npm run build
ENTRYPOINT ["node", "/opt/tapbond/dist/cli/bondd.js"]

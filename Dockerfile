# tapbond in a container: a multi-stage build (compile the addon and the TypeScript, then a slim
# runtime with only node, the compiled daemon and its production dependencies), non-root.
#
#   docker build -t tapbond .                       # FROM node:20-bookworm-slim
#   docker build --build-arg BASE=<local image> .   # no registry: see scripts/docker/base-image.sh
#
# Run (the bond lives in the container's network namespace; move the slaves into it):
#   docker run -d --name bond --network none --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW \
#     --cap-add BPF --cap-add PERFMON --device /dev/net/tun tapbond --name bond0 --slaves eth1,eth2 \
#     --address 198.18.0.1/24 mode=active-backup miimon=100
# BPF and PERFMON give the kernel fast path (eBPF); with NET_ADMIN and NET_RAW only, bondd runs the
# user-space datapath and says so.
# The `test` stage carries the test suite and its tools (npm run test:docker runs it).
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
COPY scripts/docker/ensure-packages.sh /usr/local/sbin/ensure-packages
RUN ensure-packages g++ make python3 ca-certificates
WORKDIR /opt/tapbond
COPY package.json package-lock.json binding.gyp tsconfig.json tsconfig.build.json ./
COPY native ./native
# npm install, not npm ci: npm 11 leaves other platforms' optional packages out of the lock file, which npm ci refuses
RUN npm install --ignore-scripts --no-audit --no-fund && npx node-gyp rebuild
COPY src ./src
RUN npm run build:ts

FROM build AS prod-deps
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM build AS test
RUN ensure-packages iproute2 iputils-ping iperf3 tcpdump nftables python3 openvswitch-switch procps dnsmasq-base isc-dhcp-client busybox-static systemd qemu-system-x86
COPY vitest.config.ts ./
COPY scripts ./scripts
COPY packaging ./packaging
COPY examples ./examples
COPY README.md ./
COPY test ./test
CMD ["npx", "vitest", "run", "test/integration"]

FROM ${BASE} AS runtime
COPY scripts/docker/ensure-packages.sh /usr/local/sbin/ensure-packages
# +p only: bondd makes the capabilities effective itself (and says clearly when the container
# was started without them), while bondctl and other node programs run without them. A
# capability the container was not given is simply not permitted (no effective bit: exec works).
RUN ensure-packages libcap2-bin \
 && setcap cap_net_admin,cap_net_raw,cap_bpf,cap_perfmon+p "$(readlink -f "$(command -v node)")" \
 && useradd --system --no-create-home --shell /usr/sbin/nologin tapbond \
 && mkdir -p /run/tapbond && chown tapbond:tapbond /run/tapbond
WORKDIR /opt/tapbond
COPY --from=prod-deps /opt/tapbond/package.json ./
COPY --from=prod-deps /opt/tapbond/node_modules ./node_modules
COPY --from=build /opt/tapbond/dist ./dist
COPY --from=build /opt/tapbond/build/Release/tapbond.node ./build/Release/tapbond.node
COPY --from=build /opt/tapbond/native/bpf/tapbond.bpf.o ./native/bpf/tapbond.bpf.o
RUN ln -s /opt/tapbond/dist/cli/bondd.js /usr/local/bin/bondd && ln -s /opt/tapbond/dist/cli/bondctl.js /usr/local/bin/bondctl \
 && chmod +x dist/cli/bondd.js dist/cli/bondctl.js
USER tapbond
ENTRYPOINT ["bondd", "--log-format", "json"]
CMD ["--help"]

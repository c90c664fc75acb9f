# syntax=docker/dockerfile:1.7
#
# ClickClack: one image for every part of the system.
#
#   docker build -t clickclack:local .
#
# It holds the four service binaries (clickclack-identity, -messaging,
# -realtime, -gateway), the `clickclack` CLI (so `docker exec <container>
# clickclack admin ...` works inside any container of the stack) and two
# small helpers from deploy/bin: `clickclack-migrate` (runs every service's
# migrations, then exits) and `clickclack-healthcheck` (TCP / HTTP probe that
# needs no curl). Pick the process with the container command; the default is
# the gateway. See deploy/README.md.

ARG RUST_VERSION=1.95
ARG DEBIAN_SUITE=bookworm

# ---------------------------------------------------------------- build ----
FROM rust:${RUST_VERSION}-${DEBIAN_SUITE} AS builder

# diesel links against libpq; protoc is vendored by the proto crate.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Every binary of the workspace, once, in release mode, exactly as locked.
# The cache mounts keep the registry and the target dir between builds;
# the binaries are copied out of the (cached, unexported) target dir.
RUN --mount=type=cache,id=clickclack-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=clickclack-cargo-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=clickclack-target,target=/src/target \
    cargo build --release --locked --bins \
 && mkdir -p /out \
 && cp target/release/clickclack \
       target/release/clickclack-identity \
       target/release/clickclack-messaging \
       target/release/clickclack-realtime \
       target/release/clickclack-webhooks \
       target/release/clickclack-gateway \
       /out/

# -------------------------------------------------------------- runtime ----
FROM debian:${DEBIAN_SUITE}-slim AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# A fixed, non-root uid/gid (Kubernetes' runAsNonRoot needs a numeric USER).
RUN groupadd --system --gid 10001 clickclack \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/clickclack --shell /usr/sbin/nologin clickclack \
 && mkdir -p /var/lib/clickclack/uploads \
 && chown -R 10001:10001 /var/lib/clickclack

COPY --from=builder /out/clickclack \
                    /out/clickclack-identity \
                    /out/clickclack-messaging \
                    /out/clickclack-realtime \
                    /out/clickclack-webhooks \
                    /out/clickclack-gateway \
                    /usr/local/bin/
COPY --chmod=0755 deploy/bin/clickclack-migrate deploy/bin/clickclack-healthcheck /usr/local/bin/

# Container defaults: listen on every interface (the binaries' own defaults
# are loopback), uploads and metrics where the manifests expect them. Peer
# addresses, DATABASE_URL and CLICKCLACK_INTERNAL_KEY come from the
# deployment (docker-compose.yml, k8s/).
ENV CLICKCLACK_HTTP_ADDR=0.0.0.0:8080 \
    CLICKCLACK_IDENTITY_LISTEN=0.0.0.0:50051 \
    CLICKCLACK_MESSAGING_LISTEN=0.0.0.0:50052 \
    CLICKCLACK_REALTIME_LISTEN=0.0.0.0:50053 \
    CLICKCLACK_WEBHOOKS_LISTEN=0.0.0.0:50054 \
    CLICKCLACK_METRICS_ADDR=0.0.0.0:9090 \
    CLICKCLACK_UPLOAD_DIR=/var/lib/clickclack/uploads \
    RUST_LOG=info

USER 10001:10001
WORKDIR /var/lib/clickclack
EXPOSE 8080 50051 50052 50053 9090

CMD ["clickclack-gateway"]

# syntax=docker/dockerfile:1
#
# mcp-commander as a container: the Streamable HTTP server on port 3000.
#
#   docker build -t mcp-commander .
#   export MCP_AUTH_TOKEN="$(openssl rand -hex 32)"; echo "token: $MCP_AUTH_TOKEN"
#   docker run --rm -p 127.0.0.1:3000:3000 --read-only --tmpfs /tmp \
#     -e MCP_AUTH_TOKEN mcp-commander
#
# Another port: pass both, `-e MCP_HTTP_PORT=8080 … mcp-commander --http --host 0.0.0.0
# --port 8080`, since the HEALTHCHECK finds the server through MCP_HTTP_PORT (default 3000).
#
# The server refuses to start without a token (MCP_AUTH_TOKEN, or MCP_AUTH_TOKEN_FILE
# pointing at a mounted secret file). It writes logs to stderr only, so it runs with a
# read-only root filesystem; commands that need scratch space get the writable /tmp.
# See ECS.md for Fargate and INTEGRATION.md for clients.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

# ---- build ---------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src

# Dependency caching: the crates.io registry, git checkouts and target/ live in BuildKit
# cache mounts, so a rebuild after a source change downloads nothing and recompiles only
# this crate. (A stub-crate layer with just Cargo.toml would break as soon as the manifest
# names benches or tests the stub lacks: cargo refuses to load it.)
COPY . .
RUN --mount=type=cache,id=mcp-commander-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=mcp-commander-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=mcp-commander-target,target=/src/target \
    cargo build --release --locked --bin mcp-commander \
    && install -D -m 0755 target/release/mcp-commander /out/bin/mcp-commander \
    && mkdir -p /out/policies \
    && if [ -d policies ]; then cp -R policies/. /out/policies/; fi

# ---- runtime -------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime

# /bin/sh (dash) and coreutils come with the base image; add the everyday tools a
# command is likely to want, tini as PID 1 (reaps re-parented processes, forwards
# SIGTERM), and CA certificates. Versions float with the Debian release on purpose:
# security updates arrive on rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates git jq less procps tini \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric non-root user, so orchestrators can check runAsNonRoot and the ECS
# task definition can name the same uid:gid.
RUN groupadd --system --gid 10001 mcp \
    && useradd --system --uid 10001 --gid mcp --home-dir /home/mcp --create-home \
        --shell /usr/sbin/nologin mcp \
    && chmod 1777 /tmp

# /tmp is the one writable place under a read-only root. Declaring it a volume makes Docker
# give each container its own writable /tmp (even with --read-only and no --tmpfs), and
# makes ECS populate the task volume mounted there from this directory, mode 1777
# included, instead of starting from an empty directory the non-root user may not write.
VOLUME ["/tmp"]

# The binary, and the policy presets (use one with --policy /etc/mcp-commander/policies/NAME).
COPY --from=build /out/bin/mcp-commander /usr/local/bin/mcp-commander
COPY --from=build /out/policies/ /etc/mcp-commander/policies/

USER 10001:10001
WORKDIR /home/mcp
ENV HOME=/home/mcp \
    TMPDIR=/tmp

EXPOSE 3000
STOPSIGNAL SIGTERM

# No curl or wget in the image: the binary checks its own /health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["mcp-commander", "healthcheck"]

# tini -s: stays a subreaper even when the runtime adds its own init (docker --init,
# ECS initProcessEnabled). Arguments after CMD's are mcp-commander flags.
ENTRYPOINT ["tini", "-s", "--", "mcp-commander"]
CMD ["--http", "--host", "0.0.0.0", "--port", "3000"]

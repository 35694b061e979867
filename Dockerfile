# signpost: every daemon and tool in one image; the container's command
# picks the daemon (docker-compose.yml, deploy/base/*.yaml).
#
#   docker build -t signpost .
#   docker run --rm signpost signpost-directory -h
#
# Build stage: the -dev packages of scripts/deps.sh and `make all`, plus
# `npm ci` for the GOV.UK Frontend assets the gateway serves. Runtime
# stage: the shared libraries only, a non-root user, and the files the
# daemons read at their default (relative) paths under /opt/signpost.

FROM debian:12-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      gcc make pkg-config libc6-dev \
      librdkafka-dev libpq-dev libjansson-dev libsodium-dev \
      libmicrohttpd-dev libcurl4-openssl-dev \
      nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# npm first so the asset layer is cached while only C sources change.
# Dev dependencies (playwright-core, axe-core) are for tests only.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY Makefile ./
COPY mk mk
COPY lib lib
COPY services services
COPY tools tools
COPY tests/support tests/support
COPY docs/api docs/api
RUN make -j"$(nproc)" all
# /dist/app: what the daemons read relative to their working directory
# (defaults of SIGNPOST_MIGRATIONS_DIR, SIGNPOST_INTAKE_HOLIDAYS,
# SIGNPOST_GATEWAY_OPENAPI, SIGNPOST_GATEWAY_ASSETS).
RUN set -e; mkdir -p /dist/bin /dist/app/docs/api \
      /dist/app/node_modules/govuk-frontend/dist; \
    cp build/bin/* /dist/bin/; \
    for d in services/*/; do \
      if [ -d "$d/migrations" ]; then \
        mkdir -p "/dist/app/$d"; cp -r "$d/migrations" "/dist/app/$d"; \
      fi; \
    done; \
    cp -r services/intake/data /dist/app/services/intake/; \
    cp docs/api/gateway.openapi.json /dist/app/docs/api/; \
    cp -r node_modules/govuk-frontend/dist/govuk \
      /dist/app/node_modules/govuk-frontend/dist/

FROM debian:12-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# curl: the compose healthchecks (GET /readyz); its library is needed anyway.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      librdkafka1 libpq5 libjansson4 libsodium23 libmicrohttpd12 libcurl4 \
      curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 signpost \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin signpost \
 && install -d -o signpost -g signpost -m 0700 /var/spool/signpost \
 && install -d -m 0755 /run/secrets
WORKDIR /opt/signpost
COPY --from=build /dist/bin/ /usr/local/bin/
COPY --from=build /dist/app/ /opt/signpost/
USER 10001:10001
ENV SIGNPOST_LOG_LEVEL=info \
    SIGNPOST_SECRETS_DIR=/run/secrets \
    SIGNPOST_NOTIFY_SPOOL_DIR=/var/spool/signpost
EXPOSE 8080 8091 8092 8093 8094 8095 8096
STOPSIGNAL SIGTERM
CMD ["signpost-gateway", "-h"]

# tollgate: Upstash-REST-compatible HTTP(S) gateway in front of Redis.
#
#   docker build -t tollgate .
#   docker run --rm -p 8080:8080 -e TOLLGATE_JWT_SECRET=... \
#       -e TOLLGATE_REDIS_URL=redis://host:6379 tollgate
#
# Two stages: the build stage has the compiler and the -dev packages, the
# runtime stage only the shared libraries the binary links against.

# ==== Build ====
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential \
        pkg-config \
        libmicrohttpd-dev \
        libhiredis-dev \
        libcjson-dev \
        libjwt-dev \
        libsqlite3-dev \
        libgnutls28-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# Start from a clean tree: a build/ left on the host must not leak in.
RUN rm -rf build \
 && make build \
 && test -x build/tollgate

# ==== Runtime ====
FROM debian:bookworm-slim AS runtime

# Runtime counterparts of the -dev packages above (Debian 12 names).
# libjwt0 is the OpenSSL flavour that libjwt-dev links against.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libmicrohttpd12 \
        libhiredis0.14 \
        libcjson1 \
        libjwt0 \
        libsqlite3-0 \
        libgnutls30 \
        ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Unprivileged user; /data holds the SQLite file. A named volume mounted on
# /data starts out with this ownership.
RUN groupadd --system --gid 10001 tollgate \
 && useradd --system --uid 10001 --gid tollgate \
        --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin tollgate \
 && install -d -o tollgate -g tollgate -m 0750 /data

COPY --from=build /src/build/tollgate /usr/local/bin/tollgate

USER tollgate:tollgate
WORKDIR /data
EXPOSE 8080

ENTRYPOINT ["tollgate"]
CMD ["serve", "--listen", "0.0.0.0"]

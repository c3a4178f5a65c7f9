# tollgate: Upstash-REST-compatible HTTP(S) gateway in front of Redis.
#
#   docker build -t tollgate .
#   docker run --rm -p 8080:8080 -e TOLLGATE_JWT_SECRET=... -e TOLLGATE_ACL_SECRET=... \
#       -e TOLLGATE_REDIS_URL=redis://host:6379 tollgate
#
# Two stages: the build stage has the compiler and the -dev packages, the
# runtime stage only the shared libraries the binary links against; both
# lists are sections of tools/packages.txt.

# ==== Build ====
FROM debian:bookworm-slim AS build

WORKDIR /src
# The [build] packages of tools/packages.txt, the list `make` installs from.
COPY tools/packages.txt tools/install-deps.sh tools/
RUN sh tools/install-deps.sh build \
 && rm -rf /var/lib/apt/lists/*

COPY . .
# Start from a clean tree: a build/ left on the host must not leak in.
RUN rm -rf build \
 && make build \
 && test -x build/tollgate

# ==== Runtime ====
FROM debian:bookworm-slim AS runtime

# The [image] packages of tools/packages.txt: the runtime counterparts of
# the -dev packages above, and CA certificates.
COPY tools/packages.txt tools/install-deps.sh /tmp/deps/
RUN sh /tmp/deps/install-deps.sh image \
 && rm -rf /var/lib/apt/lists/* /tmp/deps

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
# tollgate is PID 1 and handles its signals itself: SIGTERM drains (requests
# in flight get shutdown_grace_s, the meter is committed) and exits 0;
# `docker kill -s HUP` reloads the configuration (README, Operations).
STOPSIGNAL SIGTERM

ENTRYPOINT ["tollgate"]
CMD ["serve", "--listen", "0.0.0.0"]

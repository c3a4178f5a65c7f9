#!/usr/bin/env bash
# title: static checks: OpenAPI lint, docker-compose, routes documented
# Static checks on the files that describe and package tollgate.
#
# Run from the repository root by `make test` (it works from anywhere: it
# changes to the root itself). Needs tools/node_modules (`npm ci` in tools/)
# and docker-compose; no Docker engine and no network.
#
# Prints exactly one line per check, `PASS <name>` or `FAIL <name>`, followed
# on failure by the tool's output indented by four spaces. Always exits 0:
# the harness counts the lines.
#
# Checks:
#   openapi-lint            redocly lint of openapi.yaml (tools/redocly.yaml)
#   compose-config          docker-compose config -q on docker-compose.yml
#   compose-stack           the resolved stack: Redis and tollgate with health
#                           checks (tollgate's on /readyz), tollgate started
#                           once Redis is healthy, the SQLite file on a named
#                           volume, stop_grace_period above shutdown_grace_s
#   systemd-unit            deploy/tollgate.service carries the hardening and
#                           lifecycle directives; `systemd-analyze verify`
#                           (when installed) finds nothing to say about it
#   openapi-route:<path>    <path> is a documented path of openapi.yaml, for
#                           the fixed data-plane routes and for every route
#                           path literal in gateway/handlers/routes.c (once it exists)

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || {
    echo "FAIL test-static-setup"
    echo "    cannot find the repository root from $0"
    exit 0
}
cd "$ROOT" || exit 0

SPEC=openapi.yaml
LINT_TIMEOUT=120

# report NAME STATUS OUTPUT: one PASS/FAIL line, output indented on failure.
report() {
    local name=$1 status=$2 output=$3
    if [ "$status" -eq 0 ]; then
        echo "PASS $name"
    else
        echo "FAIL $name"
        if [ -n "$output" ]; then
            printf '%s\n' "$output" | sed 's/^/    /'
        fi
    fi
}

# with_timeout SECONDS CMD...: run CMD, bounded in time when timeout(1) exists.
with_timeout() {
    local secs=$1
    shift
    if command -v timeout >/dev/null 2>&1; then
        timeout "$secs" "$@"
    else
        "$@"
    fi
}

# ==== openapi-lint ====
check_openapi_lint() {
    local redocly=tools/node_modules/.bin/redocly out status
    if [ ! -f "$SPEC" ]; then
        report openapi-lint 1 "$SPEC not found in $ROOT"
        return
    fi
    if [ ! -x "$redocly" ]; then
        report openapi-lint 1 "$redocly not found: run 'npm ci' in tools/ first"
        return
    fi
    # Lint is offline: no telemetry, no update check (also set in
    # tools/redocly.yaml).
    out=$(REDOCLY_TELEMETRY=off \
          REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
          REDOCLY_SUPPRESS_NOTIFICATIONS=true \
          NO_COLOR=1 \
          with_timeout "$LINT_TIMEOUT" "$redocly" lint \
              --config tools/redocly.yaml --format=stylish "$SPEC" 2>&1)
    status=$?
    # Drop the Node.js support banner some redocly versions draw on stderr.
    out=$(printf '%s\n' "$out" | grep -vF -e '╔' -e '║' -e '╚')
    if [ "$status" -eq 124 ]; then
        out="redocly lint timed out after ${LINT_TIMEOUT}s"$'\n'"$out"
    fi
    report openapi-lint "$status" "$out"
}

# ==== compose-config ====
check_compose_config() {
    local out status
    local -a compose
    if command -v docker-compose >/dev/null 2>&1; then
        compose=(docker-compose)
    elif command -v docker >/dev/null 2>&1 &&
         docker compose version >/dev/null 2>&1; then
        compose=(docker compose)
    else
        report compose-config 1 \
            "neither docker-compose nor 'docker compose' is installed (Debian: apt-get install docker-compose)"
        return
    fi
    out=$(TOLLGATE_JWT_SECRET=x TOLLGATE_ACL_SECRET=x with_timeout 60 \
          "${compose[@]}" -f docker-compose.yml config -q 2>&1)
    status=$?
    report compose-config "$status" "$out"
}

# ==== compose-stack ====
# The resolved configuration (docker-compose config), read by Python's
# YAML parser (docker-compose itself depends on it).
check_compose_stack() {
    local out status
    local -a compose=(docker-compose)
    command -v docker-compose >/dev/null 2>&1 || compose=(docker compose)
    out=$(TOLLGATE_JWT_SECRET=x TOLLGATE_ACL_SECRET=x with_timeout 60 \
          "${compose[@]}" -f docker-compose.yml config 2>&1 | python3 -c '
import re, sys, yaml, posixpath
c = yaml.safe_load(sys.stdin)
bad = []
svc = c.get("services", {})
t, r = svc.get("tollgate", {}), svc.get("redis", {})
if not r: bad.append("no redis service")
if not t: bad.append("no tollgate service")
hc = t.get("healthcheck", {}).get("test", [])
if "/readyz" not in " ".join(hc if isinstance(hc, list) else [hc]):
    bad.append("tollgate health check does not use /readyz: %r" % (hc,))
if not r.get("healthcheck", {}).get("test"):
    bad.append("redis has no health check")
dep = t.get("depends_on", {})
if not (isinstance(dep, dict) and dep.get("redis", {}).get("condition") == "service_healthy"):
    bad.append("tollgate does not wait for a healthy redis: %r" % (dep,))
env = t.get("environment", {})
data_dir = posixpath.dirname(env.get("TOLLGATE_SQLITE_PATH", ""))
named = set((c.get("volumes") or {}).keys())
# Long syntax (compose v2) or short "source:target[:mode]" (1.29).
mounts = [v if isinstance(v, dict) else
          dict(zip(("source", "target"), str(v).split(":")[:2]), type="volume")
          for v in t.get("volumes", [])]
if not any(m.get("type") == "volume" and m.get("source") in named and m.get("target") == data_dir
           for m in mounts):
    bad.append("no named volume on the SQLite directory %r: %r" % (data_dir, mounts))
def secs(v):
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(v or ""))
    return int(m.group(1) or 0) * 60 + int(m.group(2) or 0) if m and v else 10
grace = int(env.get("TOLLGATE_SHUTDOWN_GRACE_S", 10))
if secs(t.get("stop_grace_period")) <= grace:
    bad.append("stop_grace_period %r is not above shutdown_grace_s %d" % (t.get("stop_grace_period"), grace))
print("\n".join(bad))
sys.exit(1 if bad else 0)
' 2>&1)
    status=$?
    report compose-stack "$status" "$out"
}

# ==== systemd-unit ====
SYSTEMD_UNIT=deploy/tollgate.service
check_systemd_unit() {
    local out='' status=0 d tmp
    if [ ! -f "$SYSTEMD_UNIT" ]; then
        report systemd-unit 1 "$SYSTEMD_UNIT not found"
        return
    fi
    for d in 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' \
             'PrivateTmp=yes' 'ReadWritePaths=/var/lib/tollgate' 'StateDirectory=tollgate' \
             'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' 'User=tollgate' \
             'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM' 'TimeoutStopSec=' \
             'RestrictAddressFamilies=' 'SystemCallFilter=@system-service'; do
        # `Name=` alone: any value; otherwise the exact line.
        if [ "${d%=}" != "$d" ]; then grep -q -- "^$d" "$SYSTEMD_UNIT"
        else grep -qxF -- "$d" "$SYSTEMD_UNIT"; fi || { out+="missing: $d"$'\n'; status=1; }
    done
    # systemd's own parser: unknown keys and bad values are printed (with
    # status 0), so any output fails. ExecStart must name an executable:
    # the unit is checked with a stand-in.
    if command -v systemd-analyze >/dev/null 2>&1; then
        tmp=$(mktemp -d)
        sed 's|^ExecStart=/usr/local/bin/tollgate|ExecStart=/bin/true|' "$SYSTEMD_UNIT" \
            >"$tmp/tollgate.service"
        d=$(with_timeout 60 systemd-analyze verify "$tmp/tollgate.service" 2>&1) || status=1
        [ -n "$d" ] && { out+="systemd-analyze verify: $d"$'\n'; status=1; }
        rm -rf "$tmp"
    fi
    report systemd-unit "$status" "$out"
}

# ==== openapi-route:<path> ====

# spec_paths: the keys of the top-level `paths:` object of the spec, one a
# line, quotes removed.
spec_paths() {
    awk '
        /^paths:[[:space:]]*$/ { inpaths = 1; next }
        inpaths && /^[^[:space:]#]/ { inpaths = 0 }
        inpaths && /^  ["'\'']?\/[^:]*["'\'']?:[[:space:]]*$/ {
            key = $0
            sub(/^  /, "", key)
            sub(/:[[:space:]]*$/, "", key)
            gsub(/["'\'']/, "", key)
            print key
        }
    ' "$SPEC"
}

# route_literals: the path-like C string literals of gateway/handlers/routes.c
# ("/pipeline", "/subscribe/*"), trailing "*" and "/" removed.
route_literals() {
    [ -f gateway/handlers/routes.c ] || return 0
    grep -o '"/[A-Za-z0-9._~/*-]*"' gateway/handlers/routes.c |
        tr -d '"' |
        sed -e 's/\*$//' -e 's:/*$::' -e 's:^$:/:'
}

check_routes() {
    local paths route documented
    if [ ! -f "$SPEC" ]; then
        report "openapi-route:/" 1 "$SPEC not found in $ROOT"
        return
    fi
    paths=$(spec_paths)
    # Fixed data-plane routes (docs/protocol.md), then whatever route.c registers.
    { printf '%s\n' / /pipeline /multi-exec /healthz; route_literals; } |
        awk '!seen[$0]++' |
        while IFS= read -r route; do
            documented=1
            # A route is documented by its exact path, or, for a prefix
            # route such as /subscribe or /v1, by paths below it.
            if printf '%s\n' "$paths" | grep -qxF -- "$route"; then
                documented=0
            elif [ "$route" != / ] &&
                 printf '%s\n' "$paths" |
                     awk -v p="$route/" 'index($0, p) == 1 { f = 1 }
                                          END { exit !f }'; then
                documented=0
            fi
            report "openapi-route:$route" "$documented" \
                "$route is not a path in $SPEC; documented paths:"$'\n'"$paths"
        done
}

check_openapi_lint
check_compose_config
check_compose_stack
check_systemd_unit
check_routes

exit 0

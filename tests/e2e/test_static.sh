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
check_routes

exit 0

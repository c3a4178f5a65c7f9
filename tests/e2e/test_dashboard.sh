#!/usr/bin/env bash
# title: web dashboard
# The tenant dashboard served at /dashboard: its files embedded in the
# binary with the right content types, a strict Content-Security-Policy,
# revalidation by ETag, nothing loaded from another origin; then the page
# in headless chromium against the real tenant API (tests/node/dashboard.test.mjs).
# Usage: TG_BIN=path/to/tollgate test_dashboard.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export TOLLGATE_ADMIN_JWT_SECRET=e2e-admin-secret-e2e-admin-secret-0123  # signs tenant tokens

start_redis RP || exit 1
export TOLLGATE_REDIS_URL=redis://127.0.0.1:$RP
provision A --name dash --db-name a --db-index 1 --scope rw || exit 1
start_tollgate P || exit 1
U=http://127.0.0.1:$P

header() { grep -i "^$1:" <<<"$HEADERS" | head -1 | cut -d' ' -f2-; }

# ---- The files.
for path in /dashboard /dashboard/ /dashboard/index.html; do
  http GET "$U$path"
  check "page-$path" [ "$STATUS" = 200 ]
done
check page-is-html [ "$(header Content-Type)" = "text/html; charset=utf-8" ]
check page-loads-the-chart grep -q '/dashboard/vendor/uPlot.iife.min.js' "$TG_TMP/body"
# Nothing from another origin: every src/href is a path on this one (or
# the empty data: icon, which keeps the browser from asking for one).
check page-no-external-url bash -c "! grep -oE '(src|href)=\"[^\"]*\"' '$TG_TMP/body' | grep -v -e '=\"/dashboard/' -e '=\"data:,\"'"
check page-no-inline-script bash -c "! grep -qE '<script>|<script [^>]*>[^<]' '$TG_TMP/body'"
csp=$(header Content-Security-Policy)
check csp-default-none grep -q "default-src 'none'" <<<"$csp"
check csp-scripts-self grep -qE "script-src 'self';" <<<"$csp"
check csp-connect-self grep -qE "connect-src 'self';" <<<"$csp"
check csp-no-unsafe bash -c "! grep -q unsafe <<<\"\$0\"" "$csp"
check csp-no-framing grep -q "frame-ancestors 'none'" <<<"$csp"
check nosniff [ "$(header X-Content-Type-Options)" = nosniff ]
check no-referrer [ "$(header Referrer-Policy)" = no-referrer ]

declare -A TYPES=(
  [/dashboard/app.js]='text/javascript; charset=utf-8'
  [/dashboard/app.css]='text/css; charset=utf-8'
  [/dashboard/vendor/uPlot.iife.min.js]='text/javascript; charset=utf-8'
  [/dashboard/vendor/uPlot.min.css]='text/css; charset=utf-8'
  [/dashboard/vendor/uPlot.LICENSE.txt]='text/plain; charset=utf-8'
)
for path in "${!TYPES[@]}"; do
  http GET "$U$path"
  if [ "$STATUS" = 200 ] && [ "$(header Content-Type)" = "${TYPES[$path]}" ] && [ -s "$TG_TMP/body" ]; then
    pass "asset-$path"
  else
    fail "asset-$path" "got $STATUS $(header Content-Type), $(wc -c <"$TG_TMP/body") bytes"
  fi
done
# The embedded library is the one the lockfile installed, byte for byte.
http GET "$U/dashboard/vendor/uPlot.iife.min.js"
check chart-library-from-lockfile cmp -s "$TG_TMP/body" \
  "$ROOT/gateway/dashboard/node_modules/uplot/dist/uPlot.iife.min.js"

# ---- Caching: revalidated by ETag.
http GET "$U/dashboard/app.js"
etag=$(header ETag)
check etag-present grep -qE '^"[0-9a-f]{20}"$' <<<"$etag"
check cache-revalidate [ "$(header Cache-Control)" = no-cache ]
http GET "$U/dashboard/app.js" -H "If-None-Match: $etag"
check etag-304 [ "$STATUS" = 304 ] && check etag-304-empty [ ! -s "$TG_TMP/body" ]
http GET "$U/dashboard/app.js" -H 'If-None-Match: "0000"'
check etag-stale-200 [ "$STATUS" = 200 ]

# ---- What is not a file.
http GET "$U/dashboard/nope.js"
check unknown-file-404 [ "$STATUS" = 404 ]
http GET "$U/dashboard/../healthz" --path-as-is
check no-traversal bash -c '[ "$0" != 200 ] || ! grep -q status "$1"' "$STATUS" "$TG_TMP/body"
http HEAD "$U/dashboard"
check head-200 [ "$STATUS" = 200 ]
http POST "$U/dashboard" -d x
check post-405 [ "$STATUS" = 405 ]
# The token never travels in a URL: the page reads it from the fragment.
check token-from-fragment grep -q 'location.hash' "$ROOT/gateway/dashboard/app.js"
# The data plane is unchanged: a token's GET still reaches Redis.
http GET "$U/set/dashkey/1" -H "Authorization: Bearer $A_TOKEN"
expect dataplane-unchanged 200 '{"result":"OK"}'

# ---- In a real browser, against the tenant API: the chart shows this
# test's requests; a token is created and revoked from the page. The
# screenshot is kept in var/test-output/ (TOLLGATE_SHOT_DIR to change it).
T=$(tg tenant-token create --tenant "$A_TENANT" --ttl 1h) || fail tenant-token "$T"
provision B --tenant "$A_TENANT" --db-name b --db-index 2 --scope rw || exit 1  # no traffic yet
export TOLLGATE_URL=$U TOLLGATE_TENANT_TOKEN=$T TOLLGATE_DB=$B_DB TOLLGATE_TOKEN=$B_TOKEN
export TOLLGATE_SHOT_DIR=${TOLLGATE_SHOT_DIR:-$ROOT/var/test-output}
node_tests dashboard ./dashboard.test.mjs

stop_tollgate "$P_PID" clean-shutdown-after-dashboard "$TG_TMP/tollgate-$P.log"

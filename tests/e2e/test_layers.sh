#!/usr/bin/env bash
# Static check of the include graph: the dependency order of the folders,
# no include cycles, root-relative includes. Plain bash + awk (mawk), no
# build and no network.
#
# Usage: tests/e2e/test_layers.sh [ROOT]
#   ROOT   the tree to check (default: this repository); its allow-list is
#          ROOT/tools/layers-allow.txt
#
# Reads every `#include "..."` of the project's .c and .h files (every
# folder but tests/, tools/, var/, node_modules/ and build outputs) and prints one
# line per check, `PASS <name>` or `FAIL <name>: ...`, which tests/run.sh
# counts; details follow indented by four spaces. Always exits 0.
#
# Checks:
#   layers-folders        every folder with C files has a row in LAYERS below
#   layers-order          a file includes only its own folder and the folders
#                         its row allows (one FAIL per offending include,
#                         naming file, line and include)
#   layers-cycles         no cycle between modules: a module is x.c + x.h,
#                         and depends on y when x.c or x.h includes y.h (so
#                         two .c files that call each other are a cycle);
#                         one FAIL per cycle, printed
#   layers-root-relative  every include names a file from the root
#                         ("common/buf.h"), never "../x.h" or a bare "x.h"
#   layers-selftest:*     the checker run on small planted trees fails where
#                         it must (a bad include, a cycle, a relative
#                         include) and passes where it must
#
# Also prints, not counted: `WARN size: ...` for each file over 800 lines
# and each function over 100 lines (house style), `ALLOW ...` for each
# include the allow-list excuses, and `WARN allow: ...` for an allow-list
# line that excuses nothing any more (delete it).
#
# The allow-list (tools/layers-allow.txt): one `file -> include` a line,
# `#` comments. A listed include is left out of every check (order and
# cycles): it lists the violations being fixed, and shrinks to empty.

set -u

ROOT=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd) || {
    echo "FAIL layers-setup: cannot find the tree to check"
    exit 0
}

MAX_FILE_LINES=800
MAX_FUNC_LINES=100

# The dependency order, as data: one row per folder, then the folders its
# files may include besides their own ("-": none, "*": any).
LAYERS=$(cat <<'EOF'
common              -
migrations          common
auth                common migrations
billing             common migrations
gateway/protocol    common
gateway/redis       common auth migrations gateway/protocol
gateway/policy      common auth gateway/protocol gateway/redis
gateway/http        common auth billing
gateway/control     common auth billing migrations gateway/protocol gateway/redis gateway/policy
gateway/handlers    common auth billing migrations gateway/protocol gateway/redis gateway/policy gateway/http gateway/control
gateway             common auth billing migrations gateway/protocol gateway/redis gateway/policy gateway/http gateway/handlers gateway/control
cli                 *
EOF
)

# project_files DIR: the project's .c and .h files under DIR, relative,
# sorted: those of the folders LAYERS names, and those of any other
# top-level folder but tests/, tools/, var/, node_modules/, hidden ones and
# build outputs (a folder holding .o or .d files, whatever BUILD named it),
# so that a new folder without a row fails layers-folders.
project_files() {
    local dir=$1 top known
    known=" $(printf '%s\n' "$LAYERS" | awk 'NF { sub(/\/.*/, "", $1); print $1 }' | sort -u | tr '\n' ' ') "
    (cd "$dir" && for top in */; do
        top=${top%/}
        case "$top" in tests | tools | var | node_modules | '*') continue ;; esac
        if [ "${known#* "$top" }" = "$known" ] &&
           [ -n "$(find "$top" \( -name '*.o' -o -name '*.d' \) -print | head -n 1)" ]; then
            continue
        fi
        find "$top" -type f \( -name '*.c' -o -name '*.h' \) -print
    done | LC_ALL=C sort)
}

# check_tree DIR ALLOW_FILE: the check lines for the tree DIR.
check_tree() {
    local dir=$1 allow=$2 list rules
    list=$(mktemp /tmp/tollgate-layers.XXXXXX)
    rules=$(mktemp /tmp/tollgate-layers.XXXXXX)
    project_files "$dir" >"$list"
    printf '%s\n' "$LAYERS" >"$rules"
    [ -f "$allow" ] || allow=/dev/null
    LC_ALL=C awk -v root="$dir" -v maxfile="$MAX_FILE_LINES" \
        -v maxfunc="$MAX_FUNC_LINES" -f /dev/stdin "$rules" "$allow" "$list" <<'AWK'
function dirname(p,    i) {
    i = match(p, /\/[^\/]*$/)
    return i ? substr(p, 1, i - 1) : "."
}
function module(p) { sub(/\.[ch]$/, "", p); return p }
function exists(p,    line, r) {
    r = (getline line < p)
    close(p)
    return r >= 0
}
function indent(s) { gsub(/\n/, "\n    ", s); return "    " s }

# Scans one file: its includes, its size, its long functions.
function scan(f,    path, line, n, inc, i, fname, fstart, lastsig, len) {
    path = root "/" f
    n = 0; fstart = 0; lastsig = ""
    while ((getline line < path) > 0) {
        n++
        if (line ~ /^[ \t]*#[ \t]*include[ \t]*"/) {
            inc = line
            sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", inc)
            sub(/".*$/, "", inc)
            nedges++
            efile[nedges] = f; eline[nedges] = n; einc[nedges] = inc
        }
        # A function: its signature starts at column 0, its braces stand
        # alone at column 0 (the house style).
        if (line ~ /^[A-Za-z_].*\(/ && line !~ /;[ \t]*$/) lastsig = line
        if (line ~ /^\{/) { fstart = n; fname = lastsig }
        if (line ~ /^\}/ && fstart) {
            len = n - fstart - 1
            if (len > maxfunc) {
                if (match(fname, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/))
                    fname = substr(fname, RSTART, RLENGTH - 1)
                sub(/[ \t]+$/, "", fname)
                printf "WARN size: %s:%d: function %s is %d lines (over %d)\n", f, fstart, fname, len, maxfunc
            }
            fstart = 0
        }
    }
    close(path)
    if (n > maxfile)
        printf "WARN size: %s is %d lines (over %d)\n", f, n, maxfile
}

# Depth-first search from module u; reports each back edge as a cycle.
function dfs(u,    k, v, i, j, cyc, start, best, detail, w, x) {
    color[u] = 1
    depth++; stack[depth] = u
    for (k = 1; k <= outn[u]; k++) {
        v = out[u, k]
        if (color[v] == 1) {
            for (i = depth; stack[i] != v; i--) ;
            # The cycle from its smallest module, for a stable name.
            best = i
            for (j = i; j <= depth; j++) if (stack[j] < stack[best]) best = j
            cyc = ""; detail = ""
            for (j = 0; j <= depth - i; j++) {
                w = stack[i + (best - i + j) % (depth - i + 1)]
                x = stack[i + (best - i + j + 1) % (depth - i + 1)]
                cyc = cyc w " -> "
                detail = detail (detail == "" ? "" : "\n") witness[w, x]
            }
            cyc = cyc stack[best]
            printf "FAIL layers-cycles: %s\n%s\n", cyc, indent(detail)
            fails["cycles"]++
        } else if (!color[v]) {
            dfs(v)
        }
    }
    depth--
    color[u] = 2
}

FILENAME == ARGV[1] {            # the LAYERS table
    sub(/#.*/, "")
    if (NF < 2) next
    rule[$1] = " "
    for (i = 2; i <= NF; i++) if ($i != "-") rule[$1] = rule[$1] $i " "
    next
}
FILENAME == ARGV[2] {            # the allow-list
    sub(/#.*/, "")
    if (!NF) next
    if (NF != 3 || $2 != "->") {
        printf "FAIL layers-allow: %s:%d: not `file -> include`: %s\n", FILENAME, FNR, $0
        fails["allow"]++
        next
    }
    allowed[$1, $3] = 1; allowline[$1, $3] = FNR
    next
}
{ files[++nfiles] = $0 }         # the project's files

END {
    for (i = 1; i <= nfiles; i++) {
        f = files[i]; d = dirname(f)
        if (!(d in rule) && !(d in norule)) {
            norule[d] = f
            printf "FAIL layers-folders: %s has no row in the LAYERS table of tests/e2e/test_layers.sh (%s)\n", d, f
            fails["folders"]++
        }
        scan(f)
    }
    for (e = 1; e <= nedges; e++) {
        f = efile[e]; inc = einc[e]; at = f ":" eline[e] ": #include \"" inc "\""
        if (inc ~ /^\// || inc ~ /(^|\/)\.\.?\// || !exists(root "/" inc)) {
            printf "FAIL layers-root-relative: %s (not a path from the root)\n", at
            fails["relative"]++
            continue
        }
        if ((f, inc) in allowed) {
            used[f, inc] = 1
            printf "ALLOW %s\n", at
            continue
        }
        d = dirname(f); t = dirname(inc)
        if (d in rule && t != d && rule[d] != " * " && index(rule[d], " " t " ") == 0) {
            may = rule[d]; sub(/ $/, "", may)
            printf "FAIL layers-order: %s (%s may include:%s)\n", at, d, (may == "" ? " nothing of the project" : may)
            fails["order"]++
        }
        u = module(f); v = module(inc)
        if (u != v && !((u, v) in witness)) {
            witness[u, v] = at
            out[u, ++outn[u]] = v
            if (!(u in node)) { node[u] = 1; nodes[++nnodes] = u }
        }
    }
    for (i = 1; i <= nnodes; i++) if (!color[nodes[i]]) dfs(nodes[i])
    for (k in allowed) if (!(k in used)) {
        split(k, parts, SUBSEP)
        printf "WARN allow: line %d, %s -> %s, excuses nothing: delete it\n", allowline[k], parts[1], parts[2]
    }
    if (!fails["folders"]) printf "PASS layers-folders\n"
    if (!fails["order"]) printf "PASS layers-order (%d includes in %d files)\n", nedges, nfiles
    if (!fails["cycles"]) printf "PASS layers-cycles\n"
    if (!fails["relative"]) printf "PASS layers-root-relative\n"
}
AWK
    rm -f "$list" "$rules"
}

# ==== Self-test: planted trees ====

# plant DIR FILE LINE...: writes FILE under DIR with the given lines.
plant() {
    local dir=$1 file=$2
    shift 2
    mkdir -p "$dir/$(dirname "$file")"
    printf '%s\n' "$@" >"$dir/$file"
}

# selftest NAME TREE EXPECT...: runs the checker on TREE; PASS when every
# EXPECT (an extended regex) matches a line of its output and, for an
# EXPECT of "clean", when no line is a FAIL.
selftest() {
    local name=$1 tree=$2 out ok=1 want
    shift 2
    out=$(check_tree "$tree" "$tree/tools/layers-allow.txt")
    for want in "$@"; do
        if [ "$want" = clean ]; then
            printf '%s\n' "$out" | grep -q '^FAIL' && ok=0
        else
            printf '%s\n' "$out" | grep -Eq -- "$want" || ok=0
        fi
    done
    if [ "$ok" = 1 ]; then
        echo "PASS layers-selftest:$name"
    else
        echo "FAIL layers-selftest:$name"
        printf '    expected: %s\n' "$@"
        printf '%s\n' "$out" | sed 's/^/    got: /'
    fi
}

selftests() {
    local tmp t
    tmp=$(mktemp -d /tmp/tollgate-layers.XXXXXX)

    # A clean base tree every planted tree starts from.
    t=$tmp/base
    plant "$t" common/err.h '/* err */'
    plant "$t" common/buf.h '#include "common/err.h"'
    plant "$t" common/buf.c '#include "common/buf.h"' '#include <stdio.h>'
    plant "$t" auth/jwt.h '#include "common/err.h"'
    plant "$t" gateway/http/server.h '#include "auth/jwt.h"' '#include "common/buf.h"'
    plant "$t" gateway/http/server.c '#include "gateway/http/server.h"'
    plant "$t" cli/main.c '#include "gateway/http/server.h"' '#include "common/buf.h"'
    selftest clean-tree-passes "$t" clean '^PASS layers-order \(8 includes in 7 files\)$' '^PASS layers-cycles' \
        '^PASS layers-root-relative' '^PASS layers-folders'

    # common/ including the HTTP server: against the order.
    cp -r "$t" "$tmp/order"
    plant "$tmp/order" common/x.h '#include "common/err.h"' '#include "gateway/http/server.h"'
    selftest bad-include-fails "$tmp/order" \
        '^FAIL layers-order: common/x\.h:2: #include "gateway/http/server\.h"'

    # The same include, allow-listed: passes, and says so.
    cp -r "$tmp/order" "$tmp/allowed"
    plant "$tmp/allowed" tools/layers-allow.txt '# today' 'common/x.h -> gateway/http/server.h'
    selftest allow-list-excuses "$tmp/allowed" clean '^ALLOW common/x\.h:2:'

    # A stale allow-list line: a warning, not a failure.
    cp -r "$t" "$tmp/stale"
    plant "$tmp/stale" tools/layers-allow.txt 'common/buf.c -> auth/jwt.h'
    selftest stale-allow-warns "$tmp/stale" clean '^WARN allow: .*common/buf\.c -> auth/jwt\.h'

    # Two headers including each other.
    cp -r "$t" "$tmp/cycle"
    plant "$tmp/cycle" common/p.h '#include "common/q.h"'
    plant "$tmp/cycle" common/q.h '#include "common/err.h"' '#include "common/p.h"'
    selftest header-cycle-fails "$tmp/cycle" \
        '^FAIL layers-cycles: common/p -> common/q -> common/p$' \
        '^    common/q\.h:2: #include "common/p\.h"$'

    # Two .c files calling each other through their headers.
    cp -r "$t" "$tmp/cyclec"
    plant "$tmp/cyclec" auth/a.h '/* a */'
    plant "$tmp/cyclec" auth/a.c '#include "auth/a.h"' '#include "auth/b.h"'
    plant "$tmp/cyclec" auth/b.h '/* b */'
    plant "$tmp/cyclec" auth/b.c '#include "auth/b.h"' '#include "auth/a.h"'
    selftest module-cycle-fails "$tmp/cyclec" '^FAIL layers-cycles: auth/a -> auth/b -> auth/a$'

    # Includes relative to the including file.
    cp -r "$t" "$tmp/relative"
    plant "$tmp/relative" auth/jwt.c '#include "jwt.h"' '#include "../common/buf.h"'
    selftest relative-include-fails "$tmp/relative" \
        '^FAIL layers-root-relative: auth/jwt\.c:1: #include "jwt\.h"' \
        '^FAIL layers-root-relative: auth/jwt\.c:2: #include "\.\./common/buf\.h"'

    # A folder the table does not know.
    cp -r "$t" "$tmp/folder"
    plant "$tmp/folder" extra/y.c '#include "common/err.h"'
    selftest unknown-folder-fails "$tmp/folder" '^FAIL layers-folders: extra '

    # A build output under any name (it holds .d files): not project code.
    cp -r "$t" "$tmp/output"
    plant "$tmp/output" out/gen/m.c '#include "../x.h"'
    plant "$tmp/output" out/gen/m.d 'out/gen/m.o: out/gen/m.c'
    selftest build-output-skipped "$tmp/output" clean '^PASS layers-order \(8 includes in 7 files\)$'

    rm -rf "$tmp"
}

check_tree "$ROOT" "$ROOT/tools/layers-allow.txt"
selftests
exit 0

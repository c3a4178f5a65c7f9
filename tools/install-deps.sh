#!/bin/sh
# Installs the Debian packages of the named sections of tools/packages.txt
# that are missing. Usage: tools/install-deps.sh [--list|--missing] SECTION...
#   --list     print the packages the sections name, install nothing
#   --missing  print the packages that would be installed, install nothing
# Runs apt-get as root, or through sudo. Quiet and fast when nothing is
# missing: one dpkg-query for the whole list, no apt-get at all.
set -eu
LIST=$(dirname "$0")/packages.txt
mode=install
case "${1:-}" in --list) mode=list; shift ;; --missing) mode=missing; shift ;; esac
[ $# -gt 0 ] || { echo "usage: $0 [--list|--missing] SECTION..." >&2; exit 2; }

# wanted: "package command" lines of the named sections (command may be
# empty), each package once.
wanted=$(awk -v want=" $* " '
  { sub(/#.*/, "") }
  /^\[[a-z]+\][[:space:]]*$/ { s = $0; gsub(/[][[:space:]]/, "", s); on = index(want, " " s " ") > 0; seen[s] = 1; next }
  on && NF && !done[$1]++ { print $1, $2 }
  END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in seen)) { print "no section [" w[i] "] in " FILENAME > "/dev/stderr"; exit 2 } }
' "$LIST")

if [ "$mode" = list ]; then
  printf '%s\n' "$wanted" | awk '{ print $1 }'
  exit 0
fi

# shellcheck disable=SC2046
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' \
  $(printf '%s\n' "$wanted" | awk '{ print $1 }') 2>/dev/null | awk '$2 == "ii" { print $1 }')
missing=$(printf '%s\n' "$wanted" | while read -r pkg cmd; do
  printf '%s\n' "$installed" | grep -qxF "$pkg" && continue
  [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1 && continue
  printf ' %s' "$pkg"
done)
if [ "$mode" = missing ]; then
  # shellcheck disable=SC2086
  [ -z "$missing" ] || printf '%s\n' $missing
  exit 0
fi
[ -z "$missing" ] && exit 0
echo "tollgate: installing Debian packages:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "tollgate: need root or sudo to install:$missing" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

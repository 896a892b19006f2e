# Shared by scripts/quickstart, scripts/bootstrap and tests/conformance/setup.d:
# quiet steps that say which step failed and why, and Debian installs whose
# check for missing packages cannot itself abort the script.  Source it:
#   . "$root/scripts/lib.sh"
# Callers run with `set -euo pipefail`; every helper here returns non-zero
# after printing the failing step's name and its own output.

kavka_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kavka_log=$(mktemp)
trap 'rm -f "$kavka_log"' EXIT

say() { printf '%s: %s\n' "${say_prefix:-kavka}" "$*"; }

# quietly WHAT CMD...: runs CMD with its output kept aside; on failure prints
# "FAILED: WHAT (exit N)" and the last 60 lines the command printed, and
# returns the command's status.
quietly() {
  local what=$1 rc=0; shift
  "$@" >"$kavka_log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "FAILED: $what (exit $rc): $*" >&2
    tail -n 60 "$kavka_log" >&2
    return "$rc"
  fi
}

# die WHAT: a step that failed without a command of its own to show.
die() { say "FAILED: $*" >&2; exit 1; }

as_root=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: run this as root"
  as_root=sudo
fi

# package_list FILE...: the packages named in scripts/packages/*.txt (one per
# line, '#' starts a comment).
package_list() {
  sed -e 's/#.*//' "$@" | tr -s ' \t' '\n\n' | sed '/^$/d'
}

# apt_missing PKG...: prints the packages that are not installed.  dpkg-query
# exits 1 for a package it has never heard of, so each is asked on its own
# and its status is tested, never its exit code.
apt_missing() {
  local p status
  for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || printf '%s\n' "$p"
  done
}

# apt_ensure WHAT PKG...: installs what is missing of PKG... from Debian.
apt_ensure() {
  local what=$1; shift
  local missing
  missing=$(apt_missing "$@")
  [ -n "$missing" ] || return 0
  # shellcheck disable=SC2086  # one package per word
  say "installing Debian packages ($what): $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive
  quietly "apt-get update" $as_root apt-get update -q || return 1
  # shellcheck disable=SC2086
  quietly "apt-get install ($what)" $as_root apt-get install -y -q --no-install-recommends $missing
}

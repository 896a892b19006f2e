# Sourced by scripts/bootstrap, scripts/test and the Go adapter's run script:
# puts the Go toolchain that scripts/bootstrap fetched (when the machine's go
# is missing or older than 1.26) first on PATH.
_kavka_go=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/clients/go/bin
if [ -x "$_kavka_go/go" ]; then
  case ":$PATH:" in *":$_kavka_go:"*) ;; *) export PATH="$_kavka_go:$PATH" ;; esac
fi
unset _kavka_go

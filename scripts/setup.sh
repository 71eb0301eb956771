#!/usr/bin/env bash
# Set-up of a fresh Debian/Ubuntu machine: system packages (Java 17 and Maven for the local
# Kafka broker, kcat, python3-avro and python3-azure for interoperability checks, openssl for
# the tests' throwaway certificates, tmux for the terminal tests, prometheus for the alert and
# dashboard tests), npm packages, and the Kafka broker's jars from Maven Central.
#
#   bash scripts/setup.sh           # npm run setup: say what it does, fail on what it cannot
#   bash scripts/setup.sh --quiet   # npm run demo / npm test: silent when all is in place
#
# Idempotent and fast when done (~0.5 s): each step checks first and does only what is
# missing (npm ci only when node_modules differs from package-lock.json). With --quiet, what
# cannot be installed here (no apt-get, no sudo) is a warning: the demo and the tests then
# say themselves what they lack, and a machine set up another way is not blocked.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

say() { printf 'setup: %s\n' "$*"; }
# Fatal for `npm run setup`; a warning on the way to the demo or the tests.
problem() {
  if ((QUIET)); then printf 'setup: warning: %s\n' "$*" >&2; else printf 'setup: %s\n' "$*" >&2; exit 1; fi
}

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
/usr/bin/python3 -c 'import avro' >/dev/null 2>&1 || missing+=(python3-avro)
/usr/bin/python3 -c 'import azure.eventhub' >/dev/null 2>&1 || missing+=(python3-azure)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    problem "please install: ${missing[*]} (no apt-get here), or use docker compose up"
  else
    SUDO=""
    if [[ "$(id -u)" != "0" ]]; then
      # Without a terminal (CI, a pipe) sudo must not wait for a password nobody can type.
      if [[ -t 0 ]]; then SUDO="sudo"; else SUDO="sudo -n"; fi
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; } </dev/null; then
      problem "could not install ${missing[*]}; install them by hand (sudo apt-get install -y ${missing[*]})"
    fi
  fi
fi

if ! node scripts/npm-current.mjs 2>/dev/null; then
  say "npm packages (npm ci)"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
elif ((!QUIET)); then
  say "npm packages: as locked"
fi

((QUIET)) || say "Kafka jars"
bash scripts/services.sh fetch || problem "could not fetch the Kafka jars (see above)"

((QUIET)) || say "done. Next: npm run demo (the whole pipeline), npm test (all tests)."

#!/usr/bin/env bash
# One-time set-up of a fresh Debian/Ubuntu machine: system packages (Java 17 and Maven for
# the local Kafka broker, kcat and python3-avro for interoperability checks, tmux for the
# terminal tests), npm packages, and the Kafka broker's jars from Maven Central.
# Idempotent: installs only what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
/usr/bin/python3 -c 'import avro' >/dev/null 2>&1 || missing+=(python3-avro)

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install: ${missing[*]} (no apt-get here), or use docker compose up" >&2
    exit 1
  fi
  SUDO=""
  [[ "$(id -u)" == "0" ]] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: npm packages"
if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

echo "setup: Kafka jars"
bash scripts/services.sh fetch

echo "setup: done. Next: npm run demo (the whole pipeline), npm test (all tests)."

#!/usr/bin/env bash
# Fetches and builds @confluentinc/kafka-javascript (librdkafka bindings) once into
# .local/peers/confluent-kafka-javascript for the bench's `clients` scenario. It is not a
# dependency of the project: CI runs `npm ci` and must not compile a native module.
#
# No prebuilt binary is downloaded (npm install --ignore-scripts skips node-pre-gyp). librdkafka:
#   - the system one (Debian: apt-get install librdkafka-dev) when it is at least the version
#     the client pins (package.json "librdkafka"); Debian 12 ships 2.0.2, too old for 1.10.1,
#     which calls DescribeTopics, ListOffsets, TopicCollection… (librdkafka ≥ 2.3);
#   - otherwise the librdkafka source shipped in the npm tarball (deps/librdkafka), built as a
#     shared library against the system's OpenSSL and zlib (CKJS_LINKING=dynamic: its
#     configure then does not download dependency sources as the static default does).
# Prints one line per step on stderr; exit status 0 when `require()` works afterwards.
set -euo pipefail
VERSION="${CKJS_VERSION:-1.10.1}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="$ROOT/.local/peers/confluent-kafka-javascript"
# Built beside it and moved into place when it loads: a failed build leaves a working one alone.
TMP="$DIR.tmp"
PKG="$TMP/node_modules/@confluentinc/kafka-javascript"
say() { echo "[confluent-kafka-javascript] $*" >&2; }

if [ -f "$DIR/.built-$VERSION" ] && (cd "$DIR" && node -e "require('@confluentinc/kafka-javascript')") 2>/dev/null; then
  exit 0
fi
command -v make >/dev/null && command -v g++ >/dev/null || { say "needs make and g++"; exit 1; }
started=$(date +%s)
rm -rf "$TMP" && mkdir -p "$TMP"
printf '{ "private": true, "dependencies": { "@confluentinc/kafka-javascript": "%s" } }\n' "$VERSION" > "$TMP/package.json"
say "npm install $VERSION (sources only, no install scripts)"
(cd "$TMP" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >"$TMP/npm.log" 2>&1) \
  || { say "npm install failed: $(grep -m1 'npm error' "$TMP/npm.log" || tail -1 "$TMP/npm.log")"; exit 1; }

# node-gyp ships with npm; the headers of the running node are used, so nothing is fetched.
GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
NODEDIR="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
[ -f "$NODEDIR/include/node/node.h" ] || { say "no node headers under $NODEDIR/include/node"; exit 1; }
# The bundled librdkafka build runs `make -j` without a limit: cap it on a shared machine.
sed -i 's/"make", "-j", "-C"/"make", "-j'"${CKJS_JOBS:-2}"'", "-C"/' "$PKG/deps/librdkafka.gyp"

wanted=$(node -p "require('$PKG/package.json').librdkafka")
system=$(pkg-config --modversion rdkafka 2>/dev/null || true)
newer() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
if [ -n "$system" ] && newer "$system" "$wanted"; then
  say "building against the system librdkafka $system"
  export BUILD_LIBRDKAFKA=0
else
  say "system librdkafka ${system:-absent} < $wanted required: building the bundled librdkafka $wanted source (shared, system OpenSSL/zlib)"
  export BUILD_LIBRDKAFKA=1 CKJS_LINKING=dynamic
fi
# One top-level job: with more, make races gyp's configure action ("No rule to make target
# config.h"); the librdkafka make inside still runs CKJS_JOBS jobs.
(cd "$PKG" && node "$GYP" rebuild --nodedir="$NODEDIR" -j 1 >"$TMP/build.log" 2>&1) \
  || { say "build failed: $(grep -m1 -E 'error' "$TMP/build.log" || tail -1 "$TMP/build.log") (see $TMP/build.log)"; exit 1; }
# The addon finds librdkafka.so through a relative rpath ($ORIGIN/../deps), so it can move.
rm -rf "$DIR" && mv "$TMP" "$DIR"
(cd "$DIR" && node -e "const k = require('@confluentinc/kafka-javascript'); console.error('[confluent-kafka-javascript] built ' + k.librdkafkaVersion + ' bindings')")
echo "$(( $(date +%s) - started ))" > "$DIR/.built-$VERSION"
say "done in $(cat "$DIR/.built-$VERSION") s"

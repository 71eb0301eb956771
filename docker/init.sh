#!/bin/sh
# One-shot setup of the compose stack, run by the `init` service (forwarder image, /app):
# wait for the Event Hubs emulator, create the topics, declare the destinations.
# Re-running it is harmless: both commands are idempotent.
set -eu
node /config/wait-for-http.mjs "${EVENTHUBS_HEALTH_URL:-http://eventhubs:5300/health}" 180
node dist/src/cli/main.js topics ensure
node dist/src/cli/main.js destinations apply -f /config/destinations.yaml

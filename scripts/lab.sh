#!/usr/bin/env bash
# Runs the lab: the controller with its embedded SQLite database and web UI on http://127.0.0.1:8000,
# seeded on first start with the demo inventory. Ctrl-C stops it; data stays in ./lab-data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build station
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release -p twister-controller -p twister-client -p twister-station
data=${TWISTER_DATA_DIR:-lab-data}
mkdir -p "$data"
first_start=0
[ -f "$data/twister.db" ] || first_start=1
if [ -z "${TWISTER_ADMIN_PASSWORD:-}" ] && [ -f "$data/admin-password" ]; then
  TWISTER_ADMIN_PASSWORD=$(cat "$data/admin-password")
fi
export TWISTER_ADMIN_PASSWORD=${TWISTER_ADMIN_PASSWORD:-}
target/release/twister-controller --config config/controller.toml --data-dir "$data" --tests-dir config/demo/tests &
controller=$!
station=""
trap 'kill $station $controller 2>/dev/null; wait $station $controller 2>/dev/null' EXIT INT TERM
export TWISTER_URL=http://127.0.0.1:8000
for _ in $(seq 1 50); do curl -sf "$TWISTER_URL/api/v1/health" >/dev/null && break; sleep 0.2; done
if [ "$first_start" = 1 ]; then
  password=${TWISTER_ADMIN_PASSWORD:-$(cat "$data/admin-password")}
  # Seed through the public API with a throw-away CLI config, leaving the user's own untouched.
  seed_config=$(mktemp)
  TWISTER_CLI_CONFIG=$seed_config target/release/twister login --user admin --password-stdin <<<"$password" >/dev/null
  TWISTER_CLI_CONFIG=$seed_config target/release/twister resource import config/demo/inventory.json --format native
  TWISTER_CLI_CONFIG=$seed_config target/release/twister project put config/demo/project-demo.json
  TWISTER_CLI_CONFIG=$seed_config target/release/twister station add local | tail -n 1 > "$data/station.token"
  chmod 600 "$data/station.token"
  TWISTER_CLI_CONFIG=$seed_config target/release/twister logout >/dev/null
  rm -f "$seed_config"
  echo "Demo inventory loaded. Sign in at $TWISTER_URL as admin (password in $data/admin-password unless you set TWISTER_ADMIN_PASSWORD),"
  echo "or from a shell: target/release/twister login --user admin"
fi
# The local station: one EP, "EP-local", running the demo tests.
target/release/twister-station --controller-url "$TWISTER_URL" --name local --data-dir "$data/station" \
  --token-file "$data/station.token" --ep EP-local &
station=$!
echo "Local station started with EP-local. Run the demo project from the web UI, or:"
echo "  target/release/twister run start --project demo --wait"
wait $controller

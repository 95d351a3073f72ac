#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages, builds every binary (end-to-end tests start
# them), then runs every test of the workspace. Tests start their own real peers (PostgreSQL, Chromium, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --workspace --bins
cargo test --workspace --no-fail-fast "$@"

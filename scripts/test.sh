#!/usr/bin/env bash
# Runs every test: installs what the integration tests need (Dovecot, Postfix —
# the tests start and stop their own instances on 127.0.0.1), then the lints and
# `cargo test`. Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/mailrig.sh install
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test "$@"

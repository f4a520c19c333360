#!/usr/bin/env bash
# Runs every test: installs what the integration tests need (Dovecot, Postfix —
# the tests start and stop their own instances on 127.0.0.1), then the lints and
# `cargo test`; then builds the Debian package from the debug binary the tests
# built (cargo-deb is installed first when missing: a few minutes, once per
# machine), installs it and follows the README's "Running it for real" on it
# (scripts/try-installed.sh; SKIP_PACKAGE=1 leaves that out).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/mailrig.sh install
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test "$@"

if [ "${SKIP_PACKAGE:-}" != 1 ]; then
    start=$(date +%s)
    deb=$(PROFILE=dev scripts/package.sh)
    echo "built $deb in $(( $(date +%s) - start )) s"
    scripts/try-installed.sh
fi

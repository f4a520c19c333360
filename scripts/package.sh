#!/usr/bin/env bash
# Builds the Debian package: the binary (release profile, or PROFILE=dev for
# a quick unoptimised one, as CI does), its completions and man pages into
# target/assets, then `cargo deb` (installed with `cargo install cargo-deb
# --locked` when missing). Prints the path of the .deb.
# Usage: scripts/package.sh            PROFILE=dev scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")

# A known version: cargo-deb warns that it will refuse the dev profile one day.
command -v cargo-deb >/dev/null || cargo install cargo-deb --version 3.8.0 --locked >&2
cargo build --profile "$profile" --bin itdesk >&2
bin="target/$dir/itdesk"
scripts/assets.sh "$bin"
# --no-build: the binary above (cargo deb maps target/release/ to the profile's
# directory). A dev binary is stripped of its debug info and compressed fast.
extra=()
[ "$profile" = dev ] && extra=(--strip --fast)
cargo deb --no-build --profile "$profile" "${extra[@]}" >&2
ls -t target/debian/itdesk_*.deb | head -1

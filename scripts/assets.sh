#!/usr/bin/env bash
# Writes what the binary generates about itself into target/assets: shell
# completions (bash, zsh, fish) and one man page per command.
# Usage: scripts/assets.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$1"
rm -rf target/assets && mkdir -p target/assets/completions target/assets/man
"$bin" completions bash > target/assets/completions/itdesk.bash
"$bin" completions zsh > target/assets/completions/_itdesk
"$bin" completions fish > target/assets/completions/itdesk.fish
"$bin" man --dir target/assets/man

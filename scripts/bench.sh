#!/usr/bin/env bash
# bench.sh — builds the benches in release and runs the rig benches against a
# real Dovecot + Postfix on 127.0.0.1: ingest (with its limits), latency,
# memory, giant (one giant mail before a normal one); then chat (DMs through
# the tests' fake Discord, no rig); with --peer also django-helpdesk side by
# side (scripts/bench-peer.sh).
# The statistics bench is `cargo bench --bench stats`. Figures and how to read
# them: docs/benchmarks.md. Take figures on a quiet machine (load < 1.5).
# Usage: scripts/bench.sh [--peer] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."

peer=0
runs=3
while (($#)); do
    case $1 in
        --peer) peer=1 ;;
        --runs) runs=$2; shift ;;
        *) echo "usage: $0 [--peer] [--runs N]" >&2; exit 2 ;;
    esac
    shift
done

scripts/mailrig.sh install
echo "machine: $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -h | awk '/^Mem:/ {print $2}') RAM, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench --no-run --bench ingest --bench latency --bench memory --bench giant --bench chat
cargo bench --bench ingest -- --runs "$runs"
cargo bench --bench latency -- --runs "$runs"
cargo bench --bench memory -- --runs "$runs"
cargo bench --bench giant -- --runs "$runs"
cargo bench --bench chat -- --runs "$runs"
if ((peer)); then
    scripts/bench-peer.sh "$runs"
fi

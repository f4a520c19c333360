#!/usr/bin/env bash
# resilience.sh — the long fault scenarios (not run by CI; their short versions
# are in the test suite): 20 SIGKILLs of the daemon at random moments of a
# 1000-mail burst, Dovecot SIGKILLed mid-burst and restarted, Postfix stopped
# for a minute while notices go out. Each run audits the store and the
# requesters' mailboxes and prints a summary table (docs/resilience.md).
# Usage: scripts/resilience.sh [extra args for benches/resilience.rs,
#        e.g. --runs 5 --mails 500 --outage-seconds 20 --only sigkill]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/mailrig.sh install
cargo bench --bench resilience -- "$@"

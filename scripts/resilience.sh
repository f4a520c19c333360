#!/usr/bin/env bash
# resilience.sh — the long fault scenarios (not run by CI; their short versions
# are in the test suite): 20 SIGKILLs of the daemon at random moments of a
# 1000-mail burst, Dovecot SIGKILLed mid-burst and restarted, Postfix stopped
# for a minute while notices go out, the store restored from a backup taken
# halfway and `itdesk recover` bringing the rest back from the mailbox, and
# the fake Discord dropping the gateway four times while 1000 requesters
# write to the bot. Each run audits the store
# and the requesters' mailboxes or DMs and prints a summary table
# (docs/resilience.md).
# Usage: scripts/resilience.sh [extra args for benches/resilience.rs,
#        e.g. --runs 5 --mails 500 --outage-seconds 20 --only sigkill|restore,
#        or --only discord --dms 1000 --dm-seconds 20 --mention-every 2]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/mailrig.sh install
cargo bench --bench resilience -- "$@"

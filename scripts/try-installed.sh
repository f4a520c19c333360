#!/usr/bin/env bash
# Follows README.md "Running it for real" word for word: runs each line of its
# first `sh` block, as root, on this machine — the .deb must have been built
# (scripts/package.sh). What needs systemd as PID 1 is done the unit's way by
# hand: `systemctl enable --now itdesk` runs the installed unit's
# ExecStartPre and ExecStart (as root, with the StateDirectory= it would
# make), after `systemd-analyze verify` of that unit; `journalctl` shows the
# daemon's log instead. Then checks what the package installed, and purges it.
# Usage: scripts/try-installed.sh    (CI runs it after the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

block=$(awk '/^## Running it for real/ {in_section = 1; next}
             in_section && /^## / {exit}
             in_section && /^```sh/ {in_block = 1; next}
             in_block && /^```/ {exit}
             in_block {print}' README.md)
[ -n "$block" ] || { echo "no sh block under 'Running it for real' in README.md" >&2; exit 1; }

daemon=""
log=$(mktemp)
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    dpkg --purge itdesk >/dev/null 2>&1 || true
    rm -rf /var/lib/itdesk /etc/itdesk "$log"
}
trap cleanup EXIT

unit_file() { dpkg -L itdesk | grep '/systemd/system/itdesk.service$'; }
# (grep -q on a pipe would end dpkg -L early, which pipefail counts as failure.)
installed() { local files; files=$(dpkg -L itdesk); grep -q "$1" <<< "$files"; }

while IFS= read -r line; do
    [ -z "$line" ] && continue
    echo "+ $line"
    case "$line" in
    "systemctl enable --now itdesk")
        unit=$(unit_file)
        systemd-analyze verify "$unit"
        echo "  (no systemd as PID 1 here: verified $unit; its ExecStartPre and ExecStart by hand)"
        install -d -m 0700 /var/lib/itdesk /var/lib/itdesk/backups
        pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
        start=$(sed -n 's/^ExecStart=//p' "$unit")
        $pre
        $start 2>"$log" &
        daemon=$!
        for _ in $(seq 1 300); do
            [ -S /var/lib/itdesk/control.sock ] && break
            kill -0 "$daemon" || { cat "$log" >&2; exit 1; }
            sleep 0.1
        done
        [ -S /var/lib/itdesk/control.sock ] || { echo "the daemon did not open its socket" >&2; cat "$log" >&2; exit 1; }
        ;;
    journalctl*)
        echo "  (no journal here: the daemon's stderr)"
        cat "$log"
        ;;
    *)
        bash -euo pipefail -c "$line"
        ;;
    esac
done <<< "$block"

echo "+ what the package installed"
ls /var/lib/itdesk/backups/*.itdesk
getent group itdesk-staff
test "$(stat -c %a /etc/itdesk/credentials)" = 700
installed '/usr/share/man/man1/itdesk.1'
installed '/usr/share/man/man1/itdesk-tickets-list.1'
installed '/usr/share/bash-completion/completions/itdesk'
installed '/usr/share/itdesk/templates/zh-CN/accepted.txt'
grep -q '^/etc/itdesk/itdesk.toml$' /var/lib/dpkg/info/itdesk.conffiles
! grep -q $'\e\[' "$log"   # no colour codes when stderr is not a terminal
echo "the README's 'Running it for real' works on the installed package"

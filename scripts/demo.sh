#!/usr/bin/env bash
# The local demo: real Dovecot + Postfix on 127.0.0.1, the itdesk daemon on an
# embedded store, a few help requests by mail, and what came of them — the
# tickets, and the replies in each requester's mailbox. Then a technician
# resolves a ticket and the requester answers "4星 很快" (4 stars, "quick").
#
# Usage: scripts/demo.sh            (keeps nothing: everything lives in a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing the mail servers if missing (Debian packages dovecot, postfix)"
scripts/mailrig.sh install
say "Building itdesk"
cargo build --quiet
ITDESK=$ROOT/target/debug/itdesk

WORK=$(mktemp -d /tmp/itdesk-demo.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    [[ -n ${DAEMON:-} ]] && kill -TERM "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
    scripts/mailrig.sh stop "$WORK/rig" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say "Starting Dovecot (IMAP) and Postfix (SMTP) on 127.0.0.1"
scripts/mailrig.sh start "$WORK/rig" >/dev/null
# shellcheck disable=SC1091
source "$WORK/rig/rig.env"
echo "IMAP 127.0.0.1:$IMAP_PORT, SMTP 127.0.0.1:$SMTP_PORT; users: $USERS"
printf '%s' "$PASSWORD" >"$WORK/imap.password"

cat >"$WORK/itdesk.toml" <<TOML
[helpdesk]
name = "IT 服务台 / IT Helpdesk"
address = "helpdesk@example.test"
default_language = "zh-CN"
message_id_domain = "itdesk.example.test"

[store]
path = "$WORK/state"

[imap]
host = "127.0.0.1"
port = $IMAP_PORT
security = "plain"
username = "helpdesk@example.test"
password_file = "$WORK/imap.password"

[smtp]
host = "127.0.0.1"
port = $SMTP_PORT
security = "plain"
from = "IT Helpdesk <helpdesk@example.test>"

[sla]
# Shrunk so the demo shows a scheduled progress update within a minute.
progress_every = "20s"

[groups.hardware]
label = "硬件组"
email = ["tech@example.test"]
[groups.software]
label = "软件组"
email = ["tech@example.test"]
[groups.network]
label = "网络组"
email = ["tech@example.test"]
[groups.access]
email = ["tech@example.test"]
[groups.service-desk]
email = ["tech@example.test"]

[on_duty]
email = ["tech@example.test"]
TOML
export ITDESK_CONFIG=$WORK/itdesk.toml
"$ITDESK" check-config

say "Starting the itdesk daemon"
"$ITDESK" run 2>"$WORK/itdesk.log" &
DAEMON=$!
for _ in $(seq 100); do [[ -S $WORK/state/control.sock ]] && break; sleep 0.1; done

mail() { # FROM SUBJECT BODY [extra header]
    local file=$WORK/mail.eml
    {
        printf 'From: %s\r\nTo: helpdesk@example.test\r\nSubject: %s\r\n' "$1" "$2"
        printf 'Message-ID: <%s.%s@example.test>\r\nDate: %s\r\n' "$RANDOM$RANDOM" "${1%%@*}" "$(date -R)"
        printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n' "$3"
    } >"$file"
    scripts/mailrig.sh send "$WORK/rig" "$1" helpdesk@example.test "$file" >/dev/null
}

say "Sending four help requests by mail"
mail "张三 <alice@example.test>" "CRM登录提示数据库连接超时" "今天10:00登录CRM时提示“数据库连接超时”，重试三次都一样，影响客户跟进，希望2小时内解决。
部门：销售部
分机：8001"
mail "Bob Smith <bob@example.test>" "[urgent] No network on the whole sales floor" "Since 09:40 nobody on floor 3 has network or Wi-Fi; all sales work is stopped.
Dept: Sales
Ext: 8002"
mail "张三 <alice@example.test>" "电脑坏了" "电脑坏了"
mail "张三 <alice@example.test>" "申请开通VPN账号" "新同事王五下周一入职，需要开通VPN账号和销售共享盘权限。"

wait_for() { # DESCRIPTION COMMAND…
    local what=$1; shift
    for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "timed out waiting for $what" >&2; tail -20 "$WORK/itdesk.log" >&2; exit 1
}
count_tickets() { "$ITDESK" tickets list --json | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)) >= int(sys.argv[1]) else 1)' "$1"; }
count_mail() { python3 scripts/demo/mailbox.py 127.0.0.1 "$IMAP_PORT" "$1@example.test" "$PASSWORD" "$2"; }
wait_for "four tickets" count_tickets 4
wait_for "alice's three notices" count_mail alice 3
wait_for "bob's notice" count_mail bob 1

say "The tickets (itdesk tickets list)"
"$ITDESK" tickets list
FIRST=$("$ITDESK" tickets list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
say "One ticket in full (itdesk tickets show $FIRST)"
"$ITDESK" tickets show "$FIRST"

say "What the requesters received"
python3 scripts/demo/mailbox.py 127.0.0.1 "$IMAP_PORT" alice@example.test "$PASSWORD"
python3 scripts/demo/mailbox.py 127.0.0.1 "$IMAP_PORT" bob@example.test "$PASSWORD"
echo "(bob has a Sieve vacation autoresponder: it stays silent because our notice says Auto-Submitted, and an auto-reply reaching itdesk would open no ticket)"
say "What the technicians / on-duty staff received"
python3 scripts/demo/mailbox.py 127.0.0.1 "$IMAP_PORT" tech@example.test "$PASSWORD"

say "A technician works and resolves $FIRST"
"$ITDESK" tickets claim "$FIRST" --by 李四 >/dev/null
"$ITDESK" tickets step "$FIRST" "远程连接后发现数据库连接池耗尽，已重启CRM服务" --by 李四 >/dev/null
wait_for "a scheduled progress update to alice" count_mail alice 4
"$ITDESK" tickets resolve "$FIRST" --fix "CRM数据库连接池已扩容并重启服务，登录恢复正常" --by 李四 >/dev/null
wait_for "the confirm-and-rate request" count_mail alice 5

say "张三 replies \"4星 很快\" to the confirmation request"
mail "张三 <alice@example.test>" "Re: [$FIRST] 服务单已解决" "4星 很快"
closed() { "$ITDESK" tickets show "$FIRST" --json | grep -q '"status": "closed"'; }
wait_for "the ticket to close" closed
"$ITDESK" tickets show "$FIRST"
wait_for "the thank-you" count_mail alice 6
python3 scripts/demo/mailbox.py 127.0.0.1 "$IMAP_PORT" alice@example.test "$PASSWORD" >"$WORK/alice.txt"
tail -n 22 "$WORK/alice.txt"

say "Done. The daemon's log:"
kill -TERM "$DAEMON"; wait "$DAEMON" || true; DAEMON=
tail -n 30 "$WORK/itdesk.log"

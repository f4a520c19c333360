#!/usr/bin/env bash
# mailrig.sh — a throw-away local mail server (Dovecot IMAP/LMTP/Sieve + Postfix)
# for itdesk's tests and demo. Everything lives under one rig directory and
# listens on 127.0.0.1 only, so several rigs can run side by side.
#
# Usage:
#   mailrig.sh install                       install Debian packages (idempotent)
#   mailrig.sh start  DIR                    create + start a rig, write DIR/rig.env
#   mailrig.sh stop   DIR                    stop that rig (idempotent)
#   mailrig.sh status DIR                    exit 0 iff both daemons are up
#   mailrig.sh send   DIR FROM TO[,TO..] FILE  submit a raw RFC 5322 file via SMTP
#   mailrig.sh append DIR USER MAILBOX FILE  IMAP APPEND a raw message
#
# Users helpdesk, alice, bob, tech @example.test, password "secret".
# bob has a vacation autoresponder (DIR/sieve/bob.sieve; DIR/sieve/USER.sieve
# is each user's active script). DIR/rig.env holds ports and paths.
# IMAP also takes XOAUTH2/OAUTHBEARER with a JWT that Dovecot validates
# locally: header {"typ":"JWT","alg":"HS256"}, signed with the base64 key in
# rig.env's OAUTH2_HMAC_KEY_FILE; claims sub and exp are required, email must
# be the login name (iat/nbf are checked when present).
# Written for Dovecot 2.3 / Postfix 3.x (Debian 12).
set -euo pipefail

PKGS=(dovecot-imapd dovecot-lmtpd dovecot-sieve postfix openssl ssl-cert)
DOMAIN=example.test
PASSWORD=secret
USERS=(helpdesk alice bob tech mallory oncall)
# Mail is stored as the stock Debian "mail" user, so no account is created.
MAIL_USER=mail
PORTS_LOCK=/tmp/.mailrig-ports.lock

die() { echo "mailrig: $*" >&2; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^# Users/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

py() { if [[ -x /usr/bin/python3 ]]; then /usr/bin/python3 "$@"; else python3 "$@"; fi; }

# ---------------------------------------------------------------- install ---

cmd_install() {
    local p missing=()
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    command -v python3 >/dev/null || [[ -x /usr/bin/python3 ]] || missing+=(python3)
    if ((${#missing[@]} == 0)); then
        echo "mailrig: all packages already installed"
        return 0
    fi
    [[ $(id -u) == 0 ]] || die "install needs root"
    echo "mailrig: installing ${missing[*]}"

    # Keep maintainer scripts from starting the system-wide daemons; put back
    # whatever policy-rc.d was there before (Docker images ship one).
    local prc=/usr/sbin/policy-rc.d backup=""
    if [[ -e $prc ]]; then backup=$(mktemp); cp -p "$prc" "$backup"; fi
    # shellcheck disable=SC2064
    trap "if [[ -n '$backup' ]]; then mv -f '$backup' '$prc'; else rm -f '$prc'; fi" EXIT
    printf '#!/bin/sh\nexit 101\n' >"$prc"
    chmod 755 "$prc"

    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"

    if [[ -n $backup ]]; then mv -f "$backup" "$prc"; else rm -f "$prc"; fi
    trap - EXIT
    stop_system_daemons
    echo "mailrig: installed dovecot $(dovecot --version | cut -d' ' -f1), postfix $(postconf -d -h mail_version)"
}

# We only run private instances: the distro's daemons must not hold ports or
# start at boot.
stop_system_daemons() {
    local s
    for s in dovecot postfix; do
        if [[ -d /run/systemd/system ]]; then
            systemctl disable --now "$s" >/dev/null 2>&1 || true
        else
            service "$s" stop >/dev/null 2>&1 || true
            update-rc.d "$s" disable >/dev/null 2>&1 || true
        fi
    done
    if [[ -f /run/dovecot/master.pid ]]; then kill "$(cat /run/dovecot/master.pid)" 2>/dev/null || true; fi
    if [[ -f /etc/postfix/main.cf ]] && postfix status >/dev/null 2>&1; then postfix stop >/dev/null 2>&1 || true; fi
}

# ------------------------------------------------------------------ paths ---

# Sets the per-rig path variables for rig directory $1 (created if $2=create).
rig_paths() {
    [[ -n ${1:-} ]] || usage
    [[ $1 != *[[:space:]\",\'\$\\]* ]] || die "rig dir must not contain spaces, quotes, commas, \$ or \\: $1"
    if [[ ${2:-} == create ]]; then mkdir -p "$1"; fi
    [[ -d $1 ]] || return 1
    RIG=$(cd "$1" && pwd -P)
    DC=$RIG/dovecot
    DC_CONF=$DC/dovecot.conf
    DC_LOG=$DC/dovecot.log
    PF=$RIG/postfix
    PF_LOG=$PF/maillog
    # Queue/data outside the config dir: "postfix check" wants everything
    # under config_directory owned by root.
    PF_QUEUE=$RIG/postfix-queue
    PF_DATA=$RIG/postfix-data
    TLS=$RIG/tls
    DC_RUN=$DC/run
    # Unix socket paths are limited to 107 bytes and both daemons use some
    # absolute ones (Dovecot: base_dir/login/..., Postfix: queue/public/postlog),
    # so a long rig path gets its sockets and queue in a short dir in /tmp.
    SHORT=""
    if ((${#RIG} > 70)); then
        SHORT=/tmp/mailrig-$(printf %s "$RIG" | sha1sum | cut -c1-12)
        DC_RUN=$SHORT/dovecot-run
        PF_QUEUE=$SHORT/postfix-queue
    fi
}

# kill -0 is not enough: in containers whose pid 1 reaps orphans lazily, a
# dead daemon lingers as a zombie for seconds.
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $st != Z* ]]
}

dovecot_pid() {
    local f=$DC_RUN/master.pid pid
    [[ -f $f ]] || return 1
    pid=$(cat "$f")
    [[ -n $pid ]] && alive "$pid" && echo "$pid"
}

postfix_pid() {
    local f=$PF_QUEUE/pid/master.pid pid
    [[ -f $f ]] || return 1
    pid=$(tr -d ' ' <"$f")
    [[ -n $pid ]] && alive "$pid" && echo "$pid"
}

# ------------------------------------------------------------------ start ---

# Prints 6 free loopback ports (held open together, so they are distinct).
# Ports given as arguments (a previous run's) are reused if all are still
# free, so a restarted rig comes back where its clients expect it.
free_ports() {
    py - "$@" <<'PY'
import socket, sys

def grab(ports):
    socks = []
    try:
        for p in ports:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the daemons do
            socks.append(s)
            s.bind(("127.0.0.1", p))
        return [s.getsockname()[1] for s in socks]
    except OSError:
        return None
    finally:
        for s in socks:
            s.close()

wanted = [int(p) for p in sys.argv[1:]]
ports = (len(wanted) == 6 and grab(wanted)) or grab([0] * 6)
print(*ports)
PY
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

make_certs() {
    [[ -s $TLS/cert.pem && -s $TLS/ca.pem ]] && return 0
    mkdir -p "$TLS"
    # A tiny CA plus a leaf: rustls/webpki refuse a CA:TRUE cert used as the
    # server cert itself, so a single self-signed cert is not enough.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TLS/ca.key" -out "$TLS/ca.pem" -days 3650 -subj "/CN=mailrig test CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TLS/key.pem" -out "$TLS/cert.csr" -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=serverAuth subjectAltName=DNS:localhost,IP:127.0.0.1 >"$TLS/leaf.ext"
    openssl x509 -req -in "$TLS/cert.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
        -days 3650 -extfile "$TLS/leaf.ext" -out "$TLS/cert.pem" 2>/dev/null
    cat "$TLS/cert.pem" "$TLS/ca.pem" >"$TLS/chain.pem"
    rm -f "$TLS/cert.csr" "$TLS/leaf.ext" "$TLS/ca.srl"
    chmod 600 "$TLS"/*.key "$TLS/key.pem"
}

# OAuth2 bearer tokens are JWTs checked by Dovecot itself (no identity
# provider to run): signature with the HS256 key below, exp/nbf/iat against
# the clock, and the email claim against the login name.
write_oauth2_conf() {
    # Dovecot looks the key up as <azp>/<alg>/<kid>; tokens carry neither
    # azp nor kid, so both are "default".
    local key=$DC/oauth2-keys/default/HS256/default
    if [[ ! -s $key ]]; then
        mkdir -p "$(dirname "$key")"
        openssl rand -base64 32 >"$key"
    fi
    # The auth process runs as Dovecot's internal user.
    chgrp -R dovecot "$DC/oauth2-keys"
    chmod -R g+rX,o-rwx "$DC/oauth2-keys"
    OAUTH2_HMAC_KEY_FILE=$key
    cat >"$DC/dovecot-oauth2.conf.ext" <<EOF
introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$DC/oauth2-keys/
username_attribute = email
EOF
}

write_dovecot_conf() {
    local u uid gid
    uid=$(id -u "$MAIL_USER") gid=$(id -g "$MAIL_USER")
    mkdir -p "$DC" "$RIG/mail" "$RIG/sieve"
    chown "$MAIL_USER:$MAIL_USER" "$RIG/mail" "$RIG/sieve"
    : >"$DC/users"
    for u in "${USERS[@]}"; do
        echo "$u@$DOMAIN:{PLAIN}$PASSWORD:$uid:$gid::$RIG/mail/$u::" >>"$DC/users"
    done
    chmod 644 "$DC/users"
    write_oauth2_conf
    if [[ ! -e $RIG/sieve/bob.sieve ]]; then
        cat >"$RIG/sieve/bob.sieve" <<'SIEVE'
require ["vacation"];
vacation :days 1 :subject "Out of Office / 自动回复" "I am away.";
SIEVE
    fi

    local dh=""
    [[ -f /usr/share/dovecot/dh.pem ]] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
    cat >"$DC_CONF" <<EOF
# Generated by mailrig.sh — Dovecot 2.3 syntax.
instance_name = mailrig-$(printf %s "$RIG" | sha1sum | cut -c1-8)
base_dir = $DC_RUN
state_dir = $DC/state
log_path = $DC_LOG
info_log_path = $DC_LOG
hostname = localhost
postmaster_address = postmaster@$DOMAIN
protocols = imap lmtp
listen = 127.0.0.1

ssl = yes
ssl_cert = <$TLS/cert.pem
ssl_key = <$TLS/key.pem
$dh
# Tests log in without TLS on the plain port.
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
# Failed logins must not slow the next test down.
auth_failure_delay = 0
auth_cache_size = 0
# Say why a login failed ("Password mismatch", "Token has expired").
auth_verbose = yes

# Answer a wrong password at once instead of on the 0.5 s auth-failure
# timer: a "noauthenticate" passdb only sets fields, and fields set by a
# passdb that returned "next" survive the real passdb's failure.
passdb {
  driver = static
  args = noauthenticate nodelay=yes
}
# Each mechanism reaches only its own passdb: a token is never compared
# with a password, nor a password validated as a JWT.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $DC/dovecot-oauth2.conf.ext
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $DC/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DC/users
}
first_valid_uid = $uid
first_valid_gid = $gid
mail_location = maildir:~/Maildir
mail_max_userip_connections = 1000
mailbox_idle_check_interval = 1 secs
recipient_delimiter = +
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes

namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
# SASL for Postfix smtpd.
service auth {
  inet_listener auth-client {
    address = 127.0.0.1
    port = $AUTH_PORT
  }
}
# Otherwise one failed login makes later logins from 127.0.0.1 wait seconds.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol imap {
  mail_max_userip_connections = 1000
}
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
}

# Sieve vacation replies are sent through this rig's Postfix.
submission_host = 127.0.0.1:$SMTP_PORT
plugin {
  sieve = file:$RIG/sieve/%n.sieve
  sieve_vacation_dont_check_recipient = yes
  sieve_vacation_use_original_recipient = yes
}
EOF
}

write_postfix_conf() {
    mkdir -p "$PF"
    local u
    : >"$PF/vmailbox"
    for u in "${USERS[@]}"; do echo "$u@$DOMAIN OK" >>"$PF/vmailbox"; done
    cat >"$PF/main.cf" <<EOF
# Generated by mailrig.sh
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DATA
maillog_file = $PF_LOG
maillog_file_prefixes = $PF
syslog_name = postfix-mailrig

myhostname = localhost
mydomain = localdomain
myorigin = localhost
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
recipient_delimiter = +
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no

# Only example.test is served; nothing ever leaves the machine.
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PF/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
default_transport = error:mailrig delivers only to $DOMAIN
relay_transport = error:mailrig delivers only to $DOMAIN
local_transport = error:mailrig has no local delivery
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_reject_unlisted_recipient = yes

disable_dns_lookups = yes
smtp_dns_support_level = disabled
lmtp_host_lookup = native
smtp_host_lookup = native
smtpd_peername_lookup = no

smtputf8_enable = yes
message_size_limit = 52428800
mailbox_size_limit = 0
virtual_mailbox_limit = 0

# Fast retries so delivery resumes quickly after an outage.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
delay_warning_time = 0
smtpd_error_sleep_time = 0
in_flow_delay = 0

smtpd_tls_cert_file = $TLS/cert.pem
smtpd_tls_key_file = $TLS/key.pem
smtpd_tls_security_level = may
smtpd_tls_session_cache_database =
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTH_PORT
smtpd_tls_auth_only = no
EOF
    # chroot off everywhere (Debian defaults to on), or the daemons would
    # need copies of /etc inside the queue directory.
    cat >"$PF/master.cf" <<EOF
# Generated by mailrig.sh
127.0.0.1:$SMTP_PORT  inet n - n - - smtpd
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
 -o smtpd_tls_wrappermode=yes
 -o smtpd_tls_security_level=encrypt
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
    # Postfix's load_file() sleeps until a freshly written file is two seconds
    # old (to avoid reading it half-written); backdate ours to skip that.
    touch -d '-1 minute' "$PF/main.cf" "$PF/master.cf" "$PF/vmailbox"
}

write_env() {
    local u users=""
    for u in "${USERS[@]}"; do users+="${users:+,}$u@$DOMAIN"; done
    cat >"$RIG/rig.env" <<EOF
RIG_DIR=$RIG
HOST=127.0.0.1
IMAP_PORT=$IMAP_PORT
IMAPS_PORT=$IMAPS_PORT
SMTP_PORT=$SMTP_PORT
SMTPS_PORT=$SMTPS_PORT
LMTP_PORT=$LMTP_PORT
AUTH_PORT=$AUTH_PORT
CA_FILE=$TLS/ca.pem
CERT_FILE=$TLS/cert.pem
DOMAIN=$DOMAIN
PASSWORD=$PASSWORD
USERS=$users
HELPDESK_USER=helpdesk@$DOMAIN
ALICE_USER=alice@$DOMAIN
BOB_USER=bob@$DOMAIN
TECH_USER=tech@$DOMAIN
MAIL_DIR=$RIG/mail
SIEVE_DIR=$RIG/sieve
DOVECOT_LOG=$DC_LOG
POSTFIX_LOG=$PF_LOG
OAUTH2_HMAC_KEY_FILE=$OAUTH2_HMAC_KEY_FILE
EOF
}

show_logs() {
    local f
    for f in "$DC/stderr.log" "$DC_LOG" "$PF/start.log" "$PF_LOG"; do
        [[ -s $f ]] || continue
        echo "---- $f (tail)" >&2
        tail -n 30 "$f" >&2
    done
}

start_failed() {
    show_logs
    # The postfix command reports config errors only to syslog or a tty.
    if [[ ! -s $PF/start.log ]] && command -v script >/dev/null; then
        echo "---- postfix check" >&2
        script -qec "postfix -c $PF check" /dev/null </dev/null >&2 9>&- || true
    fi
    cmd_stop "$RIG" >/dev/null 2>&1 || true
    die "$1 (rig in $RIG stopped)"
}

cmd_start() {
    rig_paths "$1" create
    if dovecot_pid >/dev/null && postfix_pid >/dev/null && [[ -f $RIG/rig.env ]]; then
        echo "mailrig: rig already running in $RIG" >&2
        cat "$RIG/rig.env"
        return 0
    fi
    cmd_stop "$RIG" >/dev/null
    if ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
        die "dovecot/postfix not installed: run '$0 install'"
    fi
    local ver
    ver=$(dovecot --version)
    [[ $ver == 2.3.* ]] || die "config is written for Dovecot 2.3, found $ver"
    id "$MAIL_USER" >/dev/null 2>&1 || die "system user '$MAIL_USER' is missing"
    [[ $(id -u) == 0 ]] || die "start needs root (the daemons switch users)"

    # A mktemp -d parent is 0700; dovecot/postfix users must traverse it.
    local d=$RIG
    while [[ $d != / ]]; do
        [[ -O $d ]] && chmod a+x "$d"
        d=$(dirname "$d")
    done
    chmod 755 "$RIG"
    mkdir -p "$DC" "$PF" "$PF_QUEUE" "$DC/state" "$DC_RUN"
    chmod 755 "$DC" "$PF" "$PF_QUEUE" "$DC_RUN" ${SHORT:+"$SHORT"}

    make_certs

    # Hold a machine-wide lock from picking ports until our daemons have
    # bound them, so concurrently starting rigs cannot pick the same ones.
    exec 9>"$PORTS_LOCK"
    flock -w 60 9 || die "timed out waiting for $PORTS_LOCK"
    local k v old=()
    if [[ -f $RIG/rig.env ]]; then
        for k in IMAP IMAPS SMTP SMTPS LMTP AUTH; do
            v=$(sed -n "s/^${k}_PORT=\([0-9][0-9]*\)\$/\1/p" "$RIG/rig.env")
            [[ -n $v ]] && old+=("$v")
        done
    fi
    read -r IMAP_PORT IMAPS_PORT SMTP_PORT SMTPS_PORT LMTP_PORT AUTH_PORT < <(free_ports "${old[@]}")

    write_dovecot_conf
    write_postfix_conf
    write_env

    # Dovecot keeps the stdio it was started with; never hand it our pipes
    # (or the lock fd).
    dovecot -c "$DC_CONF" </dev/null >"$DC/stderr.log" 2>&1 9>&- ||
        start_failed "dovecot failed to start"
    # "postfix start" runs postsuper as the mail owner, which logs to maillog
    # itself (e.g. about a half-received file an outage left in the queue).
    touch "$PF_LOG" && chown "$(postconf -c "$PF" -h mail_owner)" "$PF_LOG"
    postfix -c "$PF" start </dev/null >"$PF/start.log" 2>&1 9>&- ||
        start_failed "postfix failed to start"

    local p deadline=$((SECONDS + 10))
    for p in $IMAP_PORT $IMAPS_PORT $LMTP_PORT $AUTH_PORT $SMTP_PORT $SMTPS_PORT; do
        until port_open "$p"; do
            ((SECONDS < deadline)) || start_failed "port $p did not open within 10 s"
            sleep 0.05
        done
    done
    exec 9>&-
    cat "$RIG/rig.env"
}

# ------------------------------------------------------------- stop/status ---

# Waits up to 5 s for master pid $1 (already sent SIGTERM) to exit, then
# kills it and its children.
reap_master() {
    local pid=$1 i
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || return 0
        sleep 0.05
    done
    # shellcheck disable=SC2046
    kill -9 $(ps --ppid "$pid" -o pid= 2>/dev/null) "$pid" 2>/dev/null || true
}

cmd_stop() {
    rig_paths "$1" || return 0
    local pid
    if pid=$(postfix_pid); then
        postfix -c "$PF" stop </dev/null >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
        reap_master "$pid"
        echo "mailrig: postfix stopped"
    fi
    if pid=$(dovecot_pid); then
        kill "$pid" 2>/dev/null || true
        reap_master "$pid"
        echo "mailrig: dovecot stopped"
    fi
    if [[ -n $SHORT ]]; then rm -rf "$SHORT"; fi
    return 0
}

cmd_status() {
    rig_paths "$1" || { echo "no rig in $1"; return 1; }
    local pid rc=0
    if pid=$(dovecot_pid); then echo "dovecot: running (pid $pid)"; else echo "dovecot: stopped"; rc=1; fi
    if pid=$(postfix_pid); then echo "postfix: running (pid $pid)"; else echo "postfix: stopped"; rc=1; fi
    if [[ -f $RIG/rig.env ]]; then
        grep '_PORT=' "$RIG/rig.env" | tr '\n' ' '
        echo
    fi
    return $rc
}

# ----------------------------------------------------------- send/append ---

load_env() {
    if ! rig_paths "$1" || [[ ! -f $RIG/rig.env ]]; then die "no rig in $1 (run start first)"; fi
    # shellcheck disable=SC1091
    source "$RIG/rig.env"
}

cmd_send() {
    (($# == 4)) || usage
    load_env "$1"
    [[ -f $4 ]] || die "no such file: $4"
    py - "$SMTP_PORT" "$2" "$3" "$4" <<'PY'
import smtplib, sys
port, sender, rcpts, path = sys.argv[1:]
with open(path, "rb") as f:
    data = f.read()
try:
    with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
        refused = s.sendmail(sender, rcpts.split(","), data)
except smtplib.SMTPException as e:
    sys.exit(f"mailrig: send failed: {e}")
if refused:
    sys.exit(f"mailrig: some recipients refused: {refused}")
print(f"sent {len(data)} bytes to {rcpts}")
PY
}

cmd_append() {
    (($# == 4)) || usage
    load_env "$1"
    [[ -f $4 ]] || die "no such file: $4"
    local user=$2
    [[ $user == *@* ]] || user=$user@$DOMAIN
    py - "$IMAP_PORT" "$user" "$PASSWORD" "$3" "$4" <<'PY'
import imaplib, sys
port, user, pw, mbox, path = sys.argv[1:]
with open(path, "rb") as f:
    data = f.read()
m = imaplib.IMAP4("127.0.0.1", int(port))
m.login(user, pw)
m.create(mbox)  # fails harmlessly if it exists
typ, resp = m.append(mbox, None, None, data)
if typ != "OK":
    sys.exit(f"APPEND failed: {resp}")
print(f"appended {len(data)} bytes to {user}/{mbox}: {resp[0].decode()}")
m.logout()
PY
}

# ------------------------------------------------------------------- main ---

cmd=${1:-}
shift || true
case "$cmd" in
    install) cmd_install ;;
    start)  (($# == 1)) || usage; cmd_start "$1" ;;
    stop)   (($# == 1)) || usage; cmd_stop "$1" ;;
    status) (($# == 1)) || usage; cmd_status "$1" ;;
    send)   cmd_send "$@" ;;
    append) cmd_append "$@" ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# Renders the statistics report in a real browser and saves a screenshot:
# builds a synthetic store (a month of ~3000 tickets, examples/synthetic_store.rs),
# writes `itdesk report --html` for that month, and has headless Chromium
# take docs/report.png, and the same page as a 400 px phone shows it,
# docs/report-narrow.png (nothing may be cut off or need sideways scrolling).
# See docs/statistics.md for what to look at.
#
# Usage: scripts/report-screenshot.sh [LANG]   (en, the default, or zh-CN)
# Needs root for apt-get when Chromium or the CJK fonts are missing.
set -euo pipefail

cd "$(dirname "$0")/.."
lang="${1:-en}"
out="docs/report.png"
narrow="docs/report-narrow.png"
[ "$lang" = "en" ] || { out="docs/report-$lang.png"; narrow="docs/report-narrow-$lang.png"; }

if ! command -v chromium >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
# Chinese labels need a CJK font, or they render as boxes.
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk
fi

cargo build -q --bin itdesk --example synthetic_store
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/itdesk.toml" <<EOF
[helpdesk]
name = "IT Helpdesk"

[store]
path = "$work/state"

[groups.software]
label = "Software"
[groups.network]
label = "Network"
[groups.hardware]
label = "Hardware"
[groups.access]
label = "Access"
[groups.service-desk]
label = "Service desk"

[routing]
other = "service-desk"
EOF
target/debug/examples/synthetic_store "$work/state" 3000 2023-10
ITDESK_LOG=warn target/debug/itdesk --config "$work/itdesk.toml" report \
    --period 2023-10-01..2023-10-31 --lang "$lang" --html "$work/report.html"

mkdir -p docs
shoot() { # FILE WIDTH,HEIGHT
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$work/chromium" \
        --screenshot="$PWD/$1" --window-size="$2" "file://$work/report.html" 2>/dev/null
    echo "screenshot: $1"
}
shoot "$out" 1200,2600
shoot "$narrow" 400,6400

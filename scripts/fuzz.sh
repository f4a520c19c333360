#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with cargo-fuzz (libFuzzer):
#   mail_intake   raw bytes → intake::email::parse_email → intake::prepare
#   reply_parser  text → intake::reply::parse_reply
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 600)] [TARGET…]
# Installs cargo-fuzz if missing. Only a stable toolchain is needed:
# RUSTC_BOOTSTRAP lets it take the -Z flags libFuzzer's instrumentation needs,
# and no sanitizer is used (Rust is memory-safe here; unsafe_code is forbidden),
# so what the fuzzer hunts is panics, aborts, hangs and runaway memory.
# A crash leaves its input in fuzz/artifacts/TARGET/; turn it into a
# regression test in src/intake (see the `fuzz_regressions` tests there).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-600}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(mail_intake reply_parser)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1

# Seeds: the real-world mail fixtures, and replies people write.
mkdir -p fuzz/corpus/mail_intake fuzz/corpus/reply_parser
cp -n tests/fixtures/mail/*.eml fuzz/corpus/mail_intake/
i=0
for reply in "5" "★★★★☆" "4星" "已解决，谢谢" "还是不行" "问题依旧" "Thanks, it works now" \
    "still broken" "rating: 3" "5 stars, great" "没有解决，打印机还是报错" "> quoted\nok"; do
    printf '%b' "$reply" >"fuzz/corpus/reply_parser/seed-$i"
    i=$((i + 1))
done

status=0
for t in "${targets[@]}"; do
    echo "fuzz.sh: $t for ${secs}s"
    # -rss_limit_mb: intake must stay small on any input; -timeout: a single
    # input taking seconds is a hang worth reporting (html2text is quadratic on
    # some markup, which parse_email guards against).
    if ! cargo fuzz run --sanitizer none "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1; then
        echo "fuzz.sh: $t found a crash: see fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status

#!/usr/bin/env bash
# A release tarball for hosts without dpkg: the release binary and everything
# the .deb installs, under the same paths (usr/bin, usr/lib/systemd/system,
# etc/itdesk, usr/share/…), so that `tar -xzf FILE -C /` installs it and the
# unit's /usr/bin/itdesk is right. Then, as the .deb's postinst does:
#   systemd-sysusers itdesk.sysusers.conf; install -d -m 0700 /etc/itdesk/credentials
# (the tarball's etc/itdesk/itdesk.toml overwrites an existing one: extract
# with --skip-old-files on an upgrade).
# Usage: scripts/release-tarball.sh   → target/dist/itdesk-VERSION-ARCH-linux.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(uname -m)
name="itdesk-$version-$arch-linux"
cargo build --release --bin itdesk >&2
scripts/assets.sh target/release/itdesk
root="target/dist/$name"
rm -rf "$root" && mkdir -p "$root"
put() { install -D -m "$3" "$1" "$root/$2"; }
put target/release/itdesk usr/bin/itdesk 755
put systemd/itdesk.service usr/lib/systemd/system/itdesk.service 644
put systemd/itdesk.sysusers.conf usr/lib/sysusers.d/itdesk.sysusers.conf 644
put config/itdesk.example.toml etc/itdesk/itdesk.toml 644
put config/itdesk.example.toml usr/share/doc/itdesk/itdesk.example.toml 644
for f in README.md ARCHITECTURE.md; do put "$f" "usr/share/doc/itdesk/$f" 644; done
for f in docs/*.md; do put "$f" "usr/share/doc/itdesk/$f" 644; done
put templates/README.md usr/share/itdesk/templates/README.md 644
for f in templates/*/*.txt; do put "$f" "usr/share/itdesk/$f" 644; done
put target/assets/completions/itdesk.bash usr/share/bash-completion/completions/itdesk 644
put target/assets/completions/_itdesk usr/share/zsh/vendor-completions/_itdesk 644
put target/assets/completions/itdesk.fish usr/share/fish/vendor_completions.d/itdesk.fish 644
for f in target/assets/man/*.1; do put "$f" "usr/share/man/man1/$(basename "$f")" 644; done
tar -C "$root" --owner=0 --group=0 -czf "target/dist/$name.tar.gz" .
echo "target/dist/$name.tar.gz"

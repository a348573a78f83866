#!/usr/bin/env bash
# Installs the kiosk runtime on a Debian terminal: user, binary, config, udev rules,
# systemd unit. Run from the repository root after `cargo build --release -p kiosk`.
set -euo pipefail
cd "$(dirname "$0")/.."
id kiosk >/dev/null 2>&1 || useradd --system --home /var/lib/kiosk --shell /usr/sbin/nologin kiosk
install -m 0755 target/release/kiosk /usr/bin/kiosk
install -d -m 0755 /etc/kiosk
# The documented example is the starting configuration; never overwrite a real one.
[ -e /etc/kiosk/kiosk.toml ] || install -m 0640 -g kiosk kiosk/kiosk.example.toml /etc/kiosk/kiosk.toml
install -m 0644 deploy/99-kiosk-devices.rules /etc/udev/rules.d/99-kiosk-devices.rules
install -m 0644 deploy/kiosk.service /etc/systemd/system/kiosk.service
udevadm control --reload-rules && udevadm trigger
systemctl daemon-reload
echo "installed; enroll with: kiosk --config /etc/kiosk/kiosk.toml enroll --token <one-time token> --ca <ca.pem>"
echo "set the technician PIN: read -s pin; echo \"\$pin\" | kiosk maintenance-pin >> /etc/kiosk/kiosk.toml"
echo "then: systemctl enable --now kiosk"

#!/usr/bin/env bash
# System packages the test suite needs (Debian/Ubuntu). `make test` runs this before pytest;
# it installs whatever is missing from the list below and does nothing when all are present.
# One Debian package per line.
PACKAGES=(
  chromium
  redis-server
  postgresql-client
  fonts-dejavu-core
)

set -euo pipefail

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Thiếu gói hệ thống / missing system packages: ${missing[*]} (cài bằng trình quản lý gói của máy / install them with this machine's package manager)" >&2
  exit 1
fi
run_as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "Cần quyền root để cài / root needed to install: ${missing[*]}" >&2
    exit 1
  fi
  run_as_root=(sudo -n)
fi

echo "Cài gói hệ thống cho kiểm thử / installing system packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt run on the same machine instead of failing at once.
apt_options=(-o DPkg::Lock::Timeout=600 -q)
"${run_as_root[@]}" apt-get "${apt_options[@]}" update
"${run_as_root[@]}" apt-get "${apt_options[@]}" install -y --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# One-time set-up of a fresh Debian/Ubuntu machine for Cell's demo and test suite:
# system packages (socat for pty pairs; qemu, the arm toolchain and wabt for firmware) when
# missing (plus iproute2 and nftables for the mesh tests' network namespaces, and a C compiler
# for the N-API addons in native/), then `npm ci` and the addons' build.
# Safe to run again. Needs root (or sudo) only when packages are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for cmd in socat qemu-system-arm arm-none-eabi-gcc wasm2c ip nft cc; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing system packages (missing: ${need[*]})"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq socat qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi wabt iproute2 nftables build-essential >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
# The optional N-API addons (native/*/ → native/*/build/*.node): quick, a no-op when up to date.
node scripts/build-native.mjs
echo "setup: done (node $(node --version))"

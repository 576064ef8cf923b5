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

# Raspberry Pi CPUs under qemu-user (npm run test:arm, docs/arm.md): qemu-user-static, the arm64
# and armhf C/C++ runtime libraries that Node's arm builds link against (multiarch), and the
# binfmt_misc entries that let arm binaries (and their children) run directly. Only what is
# missing; a machine where this cannot be done gets a skipped arm run, not a failed setup.
arm_need=()
command -v qemu-aarch64-static >/dev/null 2>&1 && command -v qemu-arm-static >/dev/null 2>&1 || arm_need+=(qemu-user-static)
arm_arch=()
for a in arm64 armhf; do
  for p in libc6 libstdc++6 libatomic1; do
    dpkg-query -W -f='${Status}' "$p:$a" 2>/dev/null | grep -q 'ok installed' || arm_need+=("$p:$a")
  done
  dpkg --print-architecture | grep -qx "$a" || dpkg --print-foreign-architectures | grep -qx "$a" || arm_arch+=("$a")
done
if [ ${#arm_need[@]} -gt 0 ]; then
  echo "setup: installing packages for the arm run (missing: ${arm_need[*]})"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  { for a in "${arm_arch[@]}"; do $sudo dpkg --add-architecture "$a"; done \
    && $sudo apt-get update -qq && $sudo apt-get install -y -qq "${arm_need[@]}" >/dev/null; } \
    || echo "setup: the arm packages could not be installed; npm run test:arm will skip"
fi
# Real kernel SocketCAN for the CAN tests (test/helpers/can-vm.ts): the host kernel may have no
# CAN, so Debian's kernel (which has vcan) boots in a qemu micro-VM with a busybox initramfs built
# from its modules. Only what is missing; without them the CAN VM suites skip and say why.
can_need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || can_need+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || can_need+=(busybox-static)
command -v cpio >/dev/null 2>&1 || can_need+=(cpio)
command -v modprobe >/dev/null 2>&1 || can_need+=(kmod)
ls /lib/modules/*/kernel/drivers/net/can/vcan.ko* >/dev/null 2>&1 && ls /boot/vmlinuz-* >/dev/null 2>&1 || can_need+=(linux-image-amd64)
if [ ${#can_need[@]} -gt 0 ] && [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ]; then
  echo "setup: installing packages for the CAN micro-VM (missing: ${can_need[*]})"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${can_need[@]}" file >/dev/null; } \
    || echo "setup: the CAN micro-VM packages could not be installed; the CAN VM suites will skip"
fi
if [ "$(id -u)" -eq 0 ] && [ -d /proc/sys/fs/binfmt_misc ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  for q in qemu-aarch64 qemu-arm; do
    if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e "/proc/sys/fs/binfmt_misc/$q" ] && [ -f "/usr/lib/binfmt.d/$q.conf" ]; then
      cat "/usr/lib/binfmt.d/$q.conf" > /proc/sys/fs/binfmt_misc/register || echo "setup: cannot register $q in binfmt_misc"
    fi
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
# The optional N-API addons (native/*/ → native/*/build/*.node): quick, a no-op when up to date.
node scripts/build-native.mjs
echo "setup: done (node $(node --version))"

#!/usr/bin/env bash
# Builds the root filesystem of the offline base image (bottle-base) in a
# folder: a minimal Debian from debootstrap, slimmed, plus the host's node
# binary. The image store imports the folder into Docker afterwards.
#
#   build-rootfs.sh ROOTFS SUITE MIRROR NODE_BINARY PACKAGES_FILE
#
# Prints one "stage: ..." line per step on stdout; tool output goes to
# ROOTFS.log so a failure can show its tail. Needs root (debootstrap, chroot).
set -euo pipefail

rootfs="$1" suite="$2" mirror="$3" node_binary="$4" packages_file="$5"
log="$rootfs.log"

stage() { printf 'stage: %s\n' "$*"; }
fail() { printf 'error: %s (log: %s)\n' "$*" "$log" >&2; tail -n 15 "$log" >&2 || true; exit 1; }

[ "$(id -u)" -eq 0 ] || { printf 'error: building the base image needs root (debootstrap); set BOTTLE_BASE_IMAGE=node:22-slim to use a pulled base instead\n' >&2; exit 1; }
command -v debootstrap >/dev/null || { printf 'error: debootstrap is not installed (apt-get install debootstrap)\n' >&2; exit 1; }
[ -x "$node_binary" ] || { printf 'error: node binary %s is not executable\n' "$node_binary" >&2; exit 1; }

packages="$(grep -v '^[[:space:]]*\(#\|$\)' "$packages_file" | tr -d '[:blank:]' | paste -sd, -)"
rm -rf "$rootfs"
: >"$log"

stage "debootstrap $suite (minbase + $packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >>"$log" 2>&1 \
  || fail "debootstrap failed"

stage "slimming"
# Package caches and documentation are most of the size and none of the use.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/bottle-slim" <<'CFG'
# Keep later package installs as slim as the base (copyright files stay).
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
CFG
# debootstrap copies these from the build host; Docker provides its own.
: >"$rootfs/etc/resolv.conf"
rm -f "$rootfs/etc/hostname"
# openssh-server generated host keys at install time; an image must not ship
# one key pair shared by every container built from it.
rm -f "$rootfs"/etc/ssh/ssh_host_*

stage "adding node $("$node_binary" --version)"
install -m 0755 "$node_binary" "$rootfs/usr/local/bin/node"
chroot "$rootfs" /usr/local/bin/node -e 'process.exit(0)' >>"$log" 2>&1 \
  || fail "node does not run in the rootfs (missing shared libraries?)"
for tool in git curl ssh setpriv update-ca-certificates; do
  chroot "$rootfs" sh -c "command -v $tool" >/dev/null || fail "$tool is missing from the rootfs"
done

stage "done ($(du -sm "$rootfs" | cut -f1) MB)"

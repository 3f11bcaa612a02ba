#!/usr/bin/env bash
# Installs OpenSSH (server and client) for the ssh-pool tests, which start their own sshd on
# loopback. Does nothing when both are there already. CI runs as root.
set -euo pipefail
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssh-server openssh-client >/dev/null
elif command -v dnf >/dev/null 2>&1; then
  $SUDO dnf install -y -q openssh-server openssh-clients
elif command -v apk >/dev/null 2>&1; then
  $SUDO apk add --no-cache openssh-server openssh-client
else
  echo "install-ssh: no supported package manager; install openssh-server yourself" >&2
  exit 1
fi
# The tests run sshd with their own config and keys; it must not be running as a system service
# for them, but its privilege-separation directory has to exist.
$SUDO mkdir -p -m 0755 /run/sshd

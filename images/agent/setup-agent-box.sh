#!/bin/sh
# The agent box every agent image shares (images/agent, images/agent-claude,
# images/agent-codex): git, curl, CA certificates, setpriv, ssh and tmux; an
# unprivileged user `agent` (uid 1000) whose workspace volume is mounted at
# /home/agent/workspace; and the bottle-agent-* files of this folder (the
# entrypoint bottle-agent-init, the default command bottle-agent-idle and
# what they run).
#
# The Dockerfiles COPY this folder's files to /tmp/agent-box and run this
# script as root, so the setup lives in one place. Run on the offline base it
# installs nothing; on another Debian-based image (node:22-slim) it takes what
# is missing from the archive.
set -eu

box="$(dirname "$0")"

missing=""
for tool in git curl; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
command -v update-ca-certificates >/dev/null 2>&1 || missing="$missing ca-certificates"
command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"
if [ -n "$missing" ]; then
  apt-get update && apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*
fi
# bottle-agent-init merges MCP settings with node.
command -v node >/dev/null 2>&1 || { echo "setup-agent-box: the base image has no node" >&2; exit 1; }

# uid 1000 may already exist under another name (node:22-slim has `node`);
# the agent's files on the workspace volume are owned by uid 1000 either way.
existing="$(getent passwd 1000 | cut -d: -f1 || true)"
if [ -n "$existing" ] && [ "$existing" != agent ]; then
  usermod -l agent -d /home/agent -m "$existing"
  group="$(getent group 1000 | cut -d: -f1 || true)"
  if [ -n "$group" ] && [ "$group" != agent ]; then groupmod -n agent "$group"; fi
fi
if ! getent group agent >/dev/null; then groupadd -g 1000 agent; fi
if ! getent passwd agent >/dev/null; then useradd -u 1000 -g agent -m -d /home/agent -s /bin/bash agent; fi
mkdir -p /home/agent/workspace /etc/bottle/agent
chown -R agent:agent /home/agent

# Every bottle-agent-* file is a command in /usr/local/bin, except node
# modules (*.mjs), which bottle-agent-init runs, and configs (*.conf), which
# live in /usr/local/lib/bottle.
# Modes are set here because a checkout may have lost the executable bits.
for file in "$box"/bottle-agent-*; do
  case "$file" in
    *.mjs | *.conf) install -D -m 0644 "$file" "/usr/local/lib/bottle/$(basename "$file")" ;;
    *) install -m 0755 "$file" /usr/local/bin/ ;;
  esac
done
[ -x /usr/local/bin/bottle-agent-init ] && [ -x /usr/local/bin/bottle-agent-idle ] ||
  { echo "setup-agent-box: bottle-agent-init or bottle-agent-idle missing from $box" >&2; exit 1; }

rm -rf "$box"

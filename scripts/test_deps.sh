#!/usr/bin/env bash
# Installs the real peers the tests talk to (curl, ssh, socat, dig, haproxy,
# chromium, ...) from Debian's packages when they are missing. Needs root and
# apt-get; elsewhere it names what is missing and lets the tests run (tests
# whose peers are absent then fail or skip, and say which tool they needed).
set -uo pipefail
packages=(openssh-server iputils-ping openssh-client socat iperf3 curl openssl dnsmasq-base bind9-dnsutils haproxy wrk systemd chromium iproute2 iptables nftables coturn tinyproxy dante-server redis-server)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test peers missing (install them to run every test): ${missing[*]}" >&2
  exit 0
fi
echo "installing test peers: ${missing[*]}" >&2
apt-get update -qq >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
  echo "warning: could not install ${missing[*]}" >&2
exit 0

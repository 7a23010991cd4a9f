#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Install the real components of the test stack from Debian packages. Idempotent: when every
# package is already installed, apt is not run at all (second runs take milliseconds).
#
#   sudo test/harness/install.sh
#
# Only talks to the Debian mirror configured in /etc/apt. No package may start a daemon while it
# is installed: a policy-rc.d that denies every start is put in place for the duration of the
# apt run (only if none exists, and removed again only if we created it).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
mwh_require_disposable_host

# dnsmasq-base is the dnsmasq server binary without Debian's service wrapper (we start it
# ourselves on a non-default port); the Perl SSL modules let swaks speak STARTTLS/TLS (they are
# only Recommends of swaks).
PACKAGES=(
  postfix dovecot-core dovecot-imapd dovecot-lmtpd dovecot-managesieved opendkim opendkim-tools fail2ban
  swaks libnet-ssleay-perl libio-socket-ssl-perl pflogsumm
  prometheus prometheus-alertmanager
  systemd rsyslog dnsmasq-base dbus
  iptables openssl ca-certificates curl python3 procps iproute2 util-linux
  rspamd  # the spam filter milter (proxy worker in milter mode); no redis: modules that need it stay off
  acl  # getfacl/setfacl: the e2e test applies deploy/systemd/mailwatchd.tmpfiles' ACLs
  logrotate  # the report e2e test rotates a copy of the mail log (compress, delaycompress)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  mwh_log "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

# A Postfix the harness installs itself is harness-owned from the start: mark its config so the
# throwaway check accepts it next time.
postfix_was_installed=0
dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q '^install ok installed$' && postfix_was_installed=1

export DEBIAN_FRONTEND=noninteractive
debconf-set-selections <<EOF
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string $MWH_HOSTNAME
postfix postfix/destinations string $MWH_HOSTNAME, localhost
postfix postfix/protocols select all
EOF

POLICY=/usr/sbin/policy-rc.d
created_policy=0
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# mailwatchd harness: no package may start a daemon during installation\nexit 101\n' > "$POLICY"
  chmod 0755 "$POLICY"
  created_policy=1
fi

# Another installer may hold the dpkg lock: DPkg::Lock::Timeout waits for it; the loop covers the
# apt lists lock of "update", which that option does not cover.
apt_get() {
  local i
  for i in 1 2 3 4 5 6; do
    apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 "$@" && return 0
    mwh_log "apt-get $1 failed (attempt $i), retrying in 10 s"
    sleep 10
  done
  return 1
}
mwh_log "installing: ${missing[*]}"
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if [ "$postfix_was_installed" = 0 ]; then
  date -u +%FT%TZ > "/etc/postfix/$MWH_MARKER_NAME"
fi
mwh_log "packages installed"

#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Saturation scenario of the e2e tests (test/e2e/saturation_test.go), separate from the shared
# harness scripts: it adds two master.cf services to the running harness Postfix and takes them
# out again, so that the stack is left as it was found.
#
#   sudo test/harness/saturation.sh up LIMIT   # add the services, postfix reload, wait for the port
#   sudo test/harness/saturation.sh down       # remove them, postfix reload (idempotent)
#
# The services: a postscreen(8) on 127.0.0.1:$MWH_SAT_PORT that hands every client (127.0.0.1 is
# in mynetworks, so postscreen_access_list lets it through at once) to the pass-type smtpd service
# "mwsat-smtpd" with maxproc LIMIT. Why not simply lower smtp/inet's maxproc: the harness has
# inet_interfaces = loopback-only, and master(8) treats a service that listens on loopback only as
# local (master_ent.c, MASTER_FLAG_LOCAL_ONLY): it never logs "has reached its process limit" for
# it and never puts it in stress mode. A pass service is never local-only, so master logs the limit
# and switches it to stress mode (-o stress=yes) as it would smtp/inet on a real MX; and the other
# tests' SMTP on port 25 is not slowed down.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

MWH_SAT_PORT=${MWH_SAT_PORT:-2597}
SAT_PASS=mwsat-smtpd
SAT_INET="127.0.0.1:$MWH_SAT_PORT"
# postscreen's cache of its own, never shared with another postscreen service.
SAT_CACHE=mwsat_postscreen_cache

reload() {
  postfix reload </dev/null >>"$MWH_VAR/log/postfix.log" 2>&1 || mwh_die "postfix reload failed"
}

mwh_require_root
case ${1:-} in
  up)
    limit=${2:?usage: saturation.sh up LIMIT}
    [[ $limit =~ ^[0-9]+$ ]] && [ "$limit" -ge 2 ] || mwh_die "LIMIT must be a number, at least 2 (master only adds -o stress= above 1)"
    mwh_running postfix || mwh_die "postfix is not running (harness.sh up first)"
    [ -z "$(mwh_busy_ports "$MWH_SAT_PORT")" ] || mwh_die "port $MWH_SAT_PORT is already in use"
    postconf -Me "$SAT_INET/inet=$SAT_INET inet n - n - 1 postscreen -o smtpd_service_name=$SAT_PASS -o postscreen_cache_map=btree:\$data_directory/$SAT_CACHE"
    postconf -Me "$SAT_PASS/pass=$SAT_PASS pass - - n - $limit smtpd -o syslog_name=postfix/mwsat"
    reload
    mwh_wait_ports 30 "$MWH_SAT_PORT"
    mwh_log "saturation: $SAT_INET (postscreen) -> $SAT_PASS/pass, maxproc $limit"
    ;;
  down)
    changed=""
    for s in "$SAT_INET/inet" "$SAT_PASS/pass"; do
      if [ -n "$(postconf -M "$s" 2>/dev/null)" ]; then
        postconf -MX "$s"
        changed=1
      fi
    done
    if [ -n "$changed" ] && mwh_running postfix; then
      reload
      # master closes the listener and ends the services' processes on reload
      for ((i = 0; i < 300; i++)); do
        [ -z "$(mwh_busy_ports "$MWH_SAT_PORT")" ] && break
        sleep 0.1
      done
    fi
    rm -f "$(postconf -h data_directory)/$SAT_CACHE.db"
    mwh_log "saturation: services removed"
    ;;
  *) mwh_die "usage: saturation.sh up LIMIT | down" ;;
esac

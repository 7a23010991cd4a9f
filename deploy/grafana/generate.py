#!/usr/bin/env python3
# Generates the mailwatchd Grafana dashboards (committed as JSON next to this
# file). Edit here, run `python3 deploy/grafana/generate.py`, commit both.
# The deploy tests check that every metric named in a panel is one mailwatchd
# exports.
import json
import os

DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = os.path.dirname(os.path.abspath(__file__))


def templating(multi_instance):
    inst = {
        "name": "instance", "label": "Mail host", "type": "query", "datasource": DS,
        "query": {"query": "label_values(mailwatch_build_info, instance)", "refId": "instance"},
        "definition": "label_values(mailwatch_build_info, instance)",
        "refresh": 2, "sort": 1, "includeAll": multi_instance, "multi": multi_instance,
        "current": {},
    }
    if multi_instance:
        inst["allValue"] = ".+"
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0},
        inst,
    ]}


class Layout:
    def __init__(self):
        self.y = 0
        self.x = 0
        self.row_h = 0
        self.next_id = 1
        self.panels = []

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self._id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        panel["datasource"] = DS
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i


def target(expr, legend="", ref="A", instant=False, fmt=None):
    t = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend}
    if instant:
        t["instant"] = True
        t["range"] = False
    if fmt:
        t["format"] = fmt
    return t


def timeseries(title, targets, unit="short", desc="", stack=False):
    return {"type": "timeseries", "title": title, "description": desc, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "custom": {"stacking": {"mode": "normal" if stack else "none"}, "fillOpacity": 20 if stack else 5}},
                            "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"]}, "tooltip": {"mode": "multi"}}}


def stat(title, expr, unit="short", thresholds=None, desc="", mappings=None):
    steps = [{"color": "green", "value": None}]
    for value, color in (thresholds or []):
        steps.append({"color": color, "value": value})
    return {"type": "stat", "title": title, "description": desc, "targets": [target(expr, instant=True)],
            "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}, "mappings": mappings or []}, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background", "graphMode": "none"}}


def table(title, targets, desc="", overrides=None, organize=None):
    p = {"type": "table", "title": title, "description": desc, "targets": targets,
         "fieldConfig": {"defaults": {}, "overrides": overrides or []},
         "options": {"showHeader": True},
         "transformations": [{"id": "merge", "options": {}}]}
    if organize:
        p["transformations"].append({"id": "organize", "options": organize})
    return p


def override(name, unit=None, thresholds=None, display=None, decimals=None, link=None):
    props = []
    if link:
        props.append({"id": "links", "value": [link]})
    if unit:
        props.append({"id": "unit", "value": unit})
    if decimals is not None:
        props.append({"id": "decimals", "value": decimals})
    if thresholds:
        steps = [{"color": thresholds[0], "value": None}] + [{"color": c, "value": v} for v, c in thresholds[1:]]
        props.append({"id": "thresholds", "value": {"mode": "absolute", "steps": steps}})
        props.append({"id": "custom.cellOptions", "value": {"type": "color-background"}})
    if display:
        props.append({"id": "displayName", "value": display})
    return {"matcher": {"id": "byName", "options": name}, "properties": props}


def dashboard(uid, title, desc, layout, multi_instance, tags):
    return {
        "uid": uid, "title": title, "description": desc, "tags": tags, "editable": True,
        "schemaVersion": 39, "version": 1, "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
        "timezone": "", "graphTooltip": 1, "templating": templating(multi_instance),
        "annotations": {"list": []}, "links": [
            {"title": "mailwatchd", "type": "dashboards", "tags": ["mailwatchd"], "asDropdown": True, "includeVars": True, "keepTime": True}],
        "panels": layout.panels,
    }


I = 'instance=~"$instance"'


# HOST_PANELS maps the host dashboard's panel titles to their ids, filled by
# host() (generated first): the overview links each area of its host table to
# the host dashboard's panel for that area, for the row's host.
HOST_PANELS = {}


def drill(title):
    """A data link from an overview cell to the host dashboard's panel title, for that row's host."""
    return {"title": f"{title} on this host", "targetBlank": False,
            "url": f"/d/mailwatchd-host/mail-host?var-instance=${{__data.fields.instance}}&viewPanel={HOST_PANELS[title]}&${{__url_time_range}}"}


def overview():
    L = Layout()
    L.row("Fleet")
    L.add(table("Mail hosts", [
        target(f'count by (instance) (mailwatch_service_state{{{I},state="active"}} == 0 and on(instance, job, unit) mailwatch_service_present == 1) or count by (instance) (mailwatch_build_info{{{I}}}) * 0', ref="A", instant=True, fmt="table"),
        target(f'sum by (instance) (mailwatch_postfix_queue_messages{{{I},queue!="corrupt"}})', ref="B", instant=True, fmt="table"),
        target(f'sum by (instance) (rate(mailwatch_postfix_messages_total{{{I},action="delivered"}}[$__rate_interval])) * 60', ref="C", instant=True, fmt="table"),
        target(f'sum by (instance) (rate(mailwatch_postfix_messages_total{{{I},action="rejected"}}[$__rate_interval])) * 60', ref="D", instant=True, fmt="table"),
        target(f'sum by (instance) (rate(mailwatch_log_events_total{{{I},event=~"sasl_auth_failure|dovecot_auth_failure"}}[$__rate_interval])) * 60', ref="E", instant=True, fmt="table"),
        target(f'min by (instance) (mailwatch_cert_not_after_timestamp_seconds{{{I}}}) - time()', ref="F", instant=True, fmt="table"),
        target(f'sum by (instance) (mailwatch_dnsbl_listed{{{I}}})', ref="G", instant=True, fmt="table"),
        target(f'min by (instance) (mailwatch_filesystem_avail_bytes{{{I}}} / mailwatch_filesystem_size_bytes{{{I}}})', ref="H", instant=True, fmt="table"),
        target(f'count by (instance) (mailwatch_collector_success{{{I}}} == 0 unless on(instance, job, collector) mailwatch_collector_target_absent == 1) or count by (instance) (mailwatch_build_info{{{I}}}) * 0', ref="J", instant=True, fmt="table"),
    ], desc="One row per mail host: what is down, how much mail waits, how it flows, and what will break next.",
        overrides=[
            override("Value #A", display="Services down", thresholds=["green", (1, "red")], link=drill("Services")),
            override("Value #B", display="Queued", thresholds=["green", (100, "orange"), (500, "red")], link=drill("Messages by queue")),
            override("Value #C", display="Delivered/min", decimals=1, link=drill("Postfix messages per minute by action")),
            override("Value #D", display="Rejected/min", decimals=1, link=drill("Rejects per minute by reason")),
            override("Value #E", display="Auth failures/min", decimals=1, thresholds=["green", (12, "orange")], link=drill("Authentication failures per minute")),
            override("Value #F", display="First cert expiry", unit="s", thresholds=["red", (7 * 86400, "orange"), (30 * 86400, "green")], link=drill("Certificates")),
            override("Value #G", display="Blocklist listings", thresholds=["green", (1, "red")], link=drill("Blocklists and mail DNS")),
            override("Value #H", display="Lowest disk free", unit="percentunit", thresholds=["red", (0.1, "orange"), (0.2, "green")], link=drill("Free space")),
            override("Value #J", display="Collectors failing", thresholds=["green", (1, "orange")], link=drill("Collectors")),
        ],
        # The instance column keeps its name: the drill-down links read it (${__data.fields.instance}).
        organize={"excludeByName": {"Time": True}}), 24, 10)
    L.add(table("Roles", [
        target(f'count by (role) (max_over_time(mailwatch_host_info{{{I},role!=""}}[1h]))', ref="A", instant=True, fmt="table"),
        target(f'count by (role) (max_over_time(mailwatch_host_info{{{I},role!=""}}[1h]) and on (instance, job) (up{{job="mailwatchd",{I}}} == 1))', ref="B", instant=True, fmt="table"),
    ], desc="Hosts per role (global.roles) seen in the last hour, and how many of them answer now. The alerts MailRoleHostDown and MailRoleDown also count a host with a mail service down as not serving.",
        overrides=[
            override("Value #A", display="Hosts"),
            override("Value #B", display="Up", thresholds=["red", (1, "green")]),
        ],
        organize={"excludeByName": {"Time": True}}), 24, 6)
    L.add(table("Chores and configuration", [
        target(f'max by (instance) (mailwatch_maintenance_active{{{I}}})', ref="A", instant=True, fmt="table"),
        target(f'count by (instance) (mailwatch_timer_last_result_success{{{I}}} == 0) or count by (instance) (mailwatch_build_info{{{I}}}) * 0', ref="B", instant=True, fmt="table"),
        target(f'max by (instance) (mailwatch_updates_unattended_last_run_success{{{I}}})', ref="C", instant=True, fmt="table"),
        target(f'count by (instance) (mailwatch_config_info{{{I}}} unless on (program, hash) (count by (program, hash) (mailwatch_config_info{{{I}}}) > 1))', ref="D", instant=True, fmt="table"),
    ], desc="Maintenance windows, failed timers (certbot, apt, logrotate, backups), the last unattended upgrade, and configurations no other host shares (count by (program, hash) (mailwatch_config_info): the odd host out).",
        overrides=[
            override("Value #A", display="In maintenance", thresholds=["green", (1, "blue")]),
            override("Value #B", display="Failed timers", thresholds=["green", (1, "red")]),
            override("Value #C", display="Unattended upgrade", thresholds=["red", (1, "green")]),
            override("Value #D", display="Unique configs", thresholds=["green", (1, "orange")]),
        ],
        organize={"excludeByName": {"Time": True}, "renameByName": {"instance": "Mail host"}}), 24, 6)
    L.row("Trends")
    L.add(timeseries("Messages queued", [target(f'sum by (instance) (mailwatch_postfix_queue_messages{{{I},queue!="corrupt"}})', "{{instance}}")]), 12, 8)
    L.add(timeseries("Deliveries per minute", [target(f'sum by (instance) (rate(mailwatch_postfix_messages_total{{{I},action="delivered"}}[$__rate_interval])) * 60', "{{instance}}")]), 12, 8)
    L.add(timeseries("Rejects per minute", [target(f'sum by (instance) (rate(mailwatch_postfix_messages_total{{{I},action="rejected"}}[$__rate_interval])) * 60', "{{instance}}")]), 12, 8)
    L.add(timeseries("Authentication failures per minute", [target(f'sum by (instance) (rate(mailwatch_log_events_total{{{I},event=~"sasl_auth_failure|dovecot_auth_failure"}}[$__rate_interval])) * 60', "{{instance}}")]), 12, 8)
    L.add(timeseries("Delivery delay (sent), 95th percentile", [target(f'histogram_quantile(0.95, sum by (instance, le) (rate(mailwatch_postfix_delivery_delay_seconds_bucket{{{I},status="sent",transport=~"smtp|lmtp"}}[$__rate_interval])))', "{{instance}}")], unit="s"), 12, 8)
    L.add(timeseries("Reputation deferrals and bounces per minute by provider", [target(f'sum by (instance, provider) (rate(mailwatch_postfix_provider_deliveries_total{{{I},status=~"deferred|bounced",reason="reputation"}}[$__rate_interval])) * 60', "{{instance}} {{provider}}")]), 12, 8)
    L.add(timeseries("Share of inbound connections using TLS", [target(f'sum by (instance) (rate(mailwatch_postfix_tls_connections_total{{{I},direction="in"}}[$__rate_interval])) / sum by (instance) (rate(mailwatch_postfix_smtpd_connections_total{{{I}}}[$__rate_interval]))', "{{instance}}")], unit="percentunit"), 12, 8)
    L.add(timeseries("Spam ratio", [target(f'sum by (instance) (rate(mailwatch_antispam_verdicts_total{{{I},verdict!~"clean|no_action"}}[$__rate_interval])) / sum by (instance) (rate(mailwatch_antispam_verdicts_total{{{I}}}[$__rate_interval]))', "{{instance}}")], unit="percentunit", desc="Share of scanned messages not clean, all scanners."), 12, 8)
    return dashboard("mailwatchd-overview", "Mail hosts overview", "All mail hosts watched by mailwatchd, one row each.", L, True, ["mailwatchd", "mail"])


def host():
    L = Layout()
    L.row("Status")
    # "or 0 * count(build_info)": 0 when the host is scraped and nothing is wrong, no data
    # (not a reassuring green 0) when it is not scraped at all.
    L.add(stat("Services down", f'count(mailwatch_service_state{{{I},state="active"}} == 0 and on(instance, job, unit) mailwatch_service_present == 1) or 0 * count(mailwatch_build_info{{{I}}})', thresholds=[(1, "red")]), 4, 4)
    L.add(stat("Queued", f'sum(mailwatch_postfix_queue_messages{{{I},queue!="corrupt"}})', thresholds=[(100, "orange"), (500, "red")]), 4, 4)
    L.add(stat("Oldest deferred", f'time() - min(mailwatch_postfix_queue_oldest_message_timestamp_seconds{{{I},queue="deferred"}})', unit="s", thresholds=[(4 * 3600, "orange")]), 4, 4)
    L.add(stat("First cert expiry", f'min(mailwatch_cert_not_after_timestamp_seconds{{{I}}}) - time()', unit="s", thresholds=[(0, "red"), (7 * 86400, "orange"), (30 * 86400, "green")]), 4, 4)
    L.add(stat("Blocklist listings", f'sum(mailwatch_dnsbl_listed{{{I}}}) or 0 * count(mailwatch_build_info{{{I}}})', thresholds=[(1, "red")]), 4, 4)
    L.add(stat("Collectors failing", f'count(mailwatch_collector_success{{{I}}} == 0 unless on(instance, job, collector) mailwatch_collector_target_absent == 1) or 0 * count(mailwatch_build_info{{{I}}})', thresholds=[(1, "orange")]), 4, 4)

    L.row("Mail flow")
    L.add(timeseries("Postfix messages per minute by action", [target(f'sum by (action) (rate(mailwatch_postfix_messages_total{{{I}}}[$__rate_interval])) * 60', "{{action}}")], desc="Counted as pflogsumm counts them."), 12, 8)
    L.add(timeseries("Rejects per minute by reason", [target(f'sum by (reason) (rate(mailwatch_postfix_rejects_total{{{I}}}[$__rate_interval])) * 60', "{{reason}}")], stack=True), 12, 8)
    L.add(timeseries("Deliveries not sent, per minute by reason", [target(f'sum by (status, reason) (rate(mailwatch_postfix_deliveries_total{{{I},status!="sent"}}[$__rate_interval])) * 60', "{{status}} {{reason}}")], stack=True, desc="Deferred, bounced and expired recipients by the class of the receiving server's reply (or of the local failure)."), 12, 8)
    L.add(timeseries("Delivery delay (sent), 50th and 95th percentile", [
        target(f'histogram_quantile(0.5, sum by (transport, le) (rate(mailwatch_postfix_delivery_delay_seconds_bucket{{{I},status="sent"}}[$__rate_interval])))', "p50 {{transport}}"),
        target(f'histogram_quantile(0.95, sum by (transport, le) (rate(mailwatch_postfix_delivery_delay_seconds_bucket{{{I},status="sent"}}[$__rate_interval])))', "p95 {{transport}}", ref="B"),
    ], unit="s", desc="From the message's arrival to its delivery (Postfix's delay=), by delivering daemon."), 12, 8)
    L.add(timeseries("Delivery delay to each provider (sent), 95th percentile", [target(f'histogram_quantile(0.95, sum by (provider, le) (rate(mailwatch_postfix_provider_delivery_delay_seconds_bucket{{{I}}}[$__rate_interval])))', "{{provider}}")], unit="s", desc="From the message's arrival to its delivery at the provider (delay= of the status=sent lines): minutes or hours mean the first attempts were deferred."), 12, 8)
    L.add(timeseries("Deliveries per minute by provider and status", [target(f'sum by (provider, status) (rate(mailwatch_postfix_provider_deliveries_total{{{I}}}[$__rate_interval])) * 60', "{{provider}} {{status}}")], desc="Providers from logs.providers, by relay host, else recipient domain."), 12, 8)
    L.add(timeseries("Where delivery time goes (seconds per delivery)", [target(f'sum by (stage) (rate(mailwatch_postfix_delivery_delay_stage_seconds_total{{{I}}}[$__rate_interval])) / scalar(sum(rate(mailwatch_postfix_delivery_delay_seconds_count{{{I}}}[$__rate_interval])))', "{{stage}}")], unit="s", stack=True, desc="Postfix's delays=a/b/c/d: before the queue manager, in it (congestion), connection setup (DNS, TLS), transmission."), 12, 8)

    L.row("Connections, TLS and filtering")
    L.add(timeseries("SMTP connections per minute by service", [target(f'sum by (service) (rate(mailwatch_postfix_smtpd_connections_total{{{I}}}[$__rate_interval])) * 60', "{{service}}")], desc="smtpd connections by master.cf service (port 25 smtp, submission, submissions)."), 8, 8)
    L.add(timeseries("Lost connections per minute by stage", [target(f'sum by (service, after) (rate(mailwatch_postfix_smtpd_lost_connections_total{{{I}}}[$__rate_interval])) * 60', "{{service}} after {{after}}")], stack=True, desc="Clients that dropped the connection, by the SMTP stage Postfix names: after STARTTLS points at TLS trouble, after AUTH at password guessing, after DATA at size limits or timeouts."), 8, 8)
    L.add(timeseries("Share of inbound connections using TLS", [target(f'sum(rate(mailwatch_postfix_tls_connections_total{{{I},direction="in"}}[$__rate_interval])) / sum(rate(mailwatch_postfix_smtpd_connections_total{{{I}}}[$__rate_interval]))', "inbound TLS share")], unit="percentunit", desc="TLS sessions established by smtpd over smtpd connections: the rest of the mail arrived in clear text (or the client gave up before STARTTLS)."), 8, 8)
    L.add(timeseries("TLS connections per minute by direction and trust", [target(f'sum by (direction, trust) (rate(mailwatch_postfix_tls_connections_total{{{I}}}[$__rate_interval])) * 60', "{{direction}} {{trust}}")], stack=True, desc="Postfix's own words: Anonymous (no certificate), Untrusted (not verified), Trusted (chain verified), Verified (chain and name verified)."), 8, 8)
    L.add(timeseries("Spam filter verdicts per minute", [target(f'sum by (scanner, verdict) (rate(mailwatch_antispam_verdicts_total{{{I}}}[$__rate_interval])) * 60', "{{scanner}} {{verdict}}")], stack=True, desc="Every scanned message once, clean ones included: Rspamd actions, amavis, SpamAssassin, ClamAV."), 8, 8)
    L.add(timeseries("Spam ratio (share of scanned mail not clean)", [target(f'sum by (scanner) (rate(mailwatch_antispam_verdicts_total{{{I},verdict!~"clean|no_action"}}[$__rate_interval])) / sum by (scanner) (rate(mailwatch_antispam_verdicts_total{{{I}}}[$__rate_interval]))', "{{scanner}}")], unit="percentunit", desc="Everything but clean (no action for Rspamd): greylisted, tagged, rejected, infected."), 8, 8)
    L.add(timeseries("Message size, 50th and 95th percentile", [
        target(f'histogram_quantile(0.5, sum by (le) (rate(mailwatch_postfix_message_size_bytes_bucket{{{I}}}[$__rate_interval])))', "p50"),
        target(f'histogram_quantile(0.95, sum by (le) (rate(mailwatch_postfix_message_size_bytes_bucket{{{I}}}[$__rate_interval])))', "p95", ref="B"),
    ], unit="bytes", desc="From the queue manager's size= of each new message."), 8, 8)
    L.add(timeseries("Recipients per message, 95th percentile", [target(f'histogram_quantile(0.95, sum by (le) (rate(mailwatch_postfix_message_recipients_bucket{{{I}}}[$__rate_interval])))', "p95")], desc="From nrcpt=: a jump is often a compromised account sending to long lists."), 8, 8)
    L.add(timeseries("Postscreen events per minute", [target(f'sum by (event) (rate(mailwatch_postfix_postscreen_events_total{{{I}}}[$__rate_interval])) * 60', "{{event}}")], stack=True, desc="What postscreen decided before smtpd saw the client: pregreeting bots, DNSBL scores, hangups."), 8, 8)
    L.add(timeseries("Saturation and lookup failures per minute", [target(f'sum by (event) (rate(mailwatch_log_events_total{{{I},event=~"postfix_process_limit|postfix_anvil_limit|postfix_queue_space|postfix_table_lookup_failure|postfix_sasl_backend_unreachable|dovecot_connection_limit|dovecot_process_limit|dovecot_mailbox_permission"}}[$__rate_interval])) * 60', "{{event}}")], desc="Process and connection limits reached, queue space, lookup tables and the SASL backend unreachable, Dovecot mailbox permission errors."), 8, 8)
    L.add(table("Time since the last ...", [
        target(f'time() - max by (event) (mailwatch_log_last_event_timestamp_seconds{{{I},event=~"dkim_signed|dkim_verified|sasl_auth_failure|dovecot_login|milter_reject|fail2ban_ban|virus_found"}})', ref="A", instant=True, fmt="table"),
    ], desc="Absence signals for low-volume hosts: how long ago the newest line of each kind was written.",
        overrides=[override("Value", display="Ago", unit="s")],
        organize={"excludeByName": {"Time": True}}), 8, 8)
    L.add(table("Time since the last Postfix ...", [
        target(f'time() - max by (action) (mailwatch_postfix_last_action_timestamp_seconds{{{I}}})', ref="A", instant=True, fmt="table"),
    ], desc="How long ago Postfix last received, delivered, deferred, bounced or rejected a message: on a host that receives mail every day, hours without a received line is an outage the rate panels cannot show.",
        overrides=[override("Value", display="Ago", unit="s")],
        organize={"excludeByName": {"Time": True}}), 8, 8)

    L.row("Queue")
    L.add(timeseries("Messages by queue", [target(f'sum by (queue) (mailwatch_postfix_queue_messages{{{I}}})', "{{queue}}")], stack=True), 8, 8)
    L.add(timeseries("Deferred recipients by reason", [target(f'sum by (reason) (mailwatch_postfix_queue_deferred_recipients{{{I}}})', "{{reason}}")], stack=True), 8, 8)
    L.add(timeseries("Age of oldest message", [target(f'time() - mailwatch_postfix_queue_oldest_message_timestamp_seconds{{{I}}}', "{{queue}}")], unit="s"), 8, 8)
    L.add(timeseries("Queue size by queue", [target(f'sum by (queue) (mailwatch_postfix_queue_size_bytes{{{I}}})', "{{queue}}")], unit="bytes", stack=True), 8, 8)
    L.add(timeseries("Recipients by queue", [target(f'sum by (queue) (mailwatch_postfix_queue_recipients{{{I}}})', "{{queue}}")], stack=True), 8, 8)
    L.add(timeseries("Deferred recipients by domain", [target(f'sum by (domain) (mailwatch_postfix_queue_deferred_domain_recipients{{{I}}})', "{{domain}}")], stack=True, desc="The top destination domains of the deferred queue (off by default: postfix_queue.top_deferred_domains)."), 8, 8)
    L.add(table("How the queue was read", [
        target(f'mailwatch_postfix_queue_read_success{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_postfix_queue_source{{{I}}} == 1', ref="B", instant=True, fmt="table"),
    ], desc="Per Postfix instance: whether the last read worked, and through what (the showq socket, postqueue, or a walk of the queue directories).",
        overrides=[override("Value #A", display="Read OK", thresholds=["red", (1, "green")])],
        organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True, "Value #B": True}}), 8, 8)
    L.add(table("Time since the last delivery to each provider", [
        target(f'time() - mailwatch_postfix_provider_last_sent_timestamp_seconds{{{I}}}', ref="A", instant=True, fmt="table"),
    ], desc="From the provider's newest status=sent line: a provider that normally receives mail daily and has not for hours is refusing or unreachable.",
        overrides=[override("Value", display="Last sent", unit="s")],
        organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 16, 8)

    L.row("Security")
    L.add(timeseries("Authentication failures per minute", [target(f'sum by (event) (rate(mailwatch_log_events_total{{{I},event=~"sasl_auth_failure|dovecot_auth_failure"}}[$__rate_interval])) * 60', "{{event}}")]), 8, 8)
    L.add(timeseries("TLS and DKIM problems per minute", [target(f'sum by (event) (rate(mailwatch_log_events_total{{{I},event=~"tls_.*|dkim_unknown_key|dkim_key_retrieval_failed"}}[$__rate_interval])) * 60', "{{event}}")]), 8, 8)
    L.add(timeseries("fail2ban: banned addresses", [target(f'mailwatch_fail2ban_banned{{{I}}}', "{{jail}}")]), 8, 8)
    L.add(timeseries("fail2ban: bans per hour by jail", [target(f'sum by (jail) (increase(mailwatch_fail2ban_bans_total{{{I}}}[1h]))', "{{jail}}")]), 8, 8)
    L.add(timeseries("fail2ban: failures being counted by jail", [target(f'mailwatch_fail2ban_failed{{{I}}}', "{{jail}}")], desc="Failures fail2ban currently counts towards a ban (from its log; absent when the log is not read)."), 8, 8)
    L.add(table("fail2ban jails", [
        target(f'mailwatch_fail2ban_jail_active{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_fail2ban_log_read_success{{{I}}}', ref="B", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Active", thresholds=["red", (1, "green")]),
        override("Value #B", display="Log read", thresholds=["red", (1, "green")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)
    L.add(timeseries("Viruses found per hour", [target(f'sum(increase(mailwatch_log_events_total{{{I},event="virus_found"}}[1h]))', "virus_found")]), 8, 8)
    L.add(timeseries("SASL users: messages over the window by rank", [target(f'max by (rank) (mailwatch_postfix_sasl_top_sender_messages{{{I}}})', "rank {{rank}}")], desc="Messages submitted over logs.sasl_window (default 1h) by the SASL user of each rank: rank 1 sent the most. The names are on mailwatchd's status page, in `mailwatchd check` and in its log, never in the metrics. A compromised account shows as rank 1 far above the others (alert PostfixSASLUserHighVolume)."), 8, 8)
    L.add(timeseries("SASL users: client IPs over the window by rank", [target(f'max by (rank) (mailwatch_postfix_sasl_top_sender_client_ips{{{I}}})', "rank {{rank}}")], desc="Distinct client addresses over the window of the SASL user of each rank by that count (ranked on its own; at most 32 per user are told apart). Stolen passwords are used from many addresses (alert PostfixSASLUserManyClientIPs)."), 8, 8)
    L.add(timeseries("SASL users: active, sender mismatches, tracking drops", [
        target(f'sum(mailwatch_postfix_sasl_active_senders{{{I}}})', "active SASL users"),
        target(f'sum(increase(mailwatch_postfix_sasl_sender_mismatch_total{{{I}}}[1h]))', "sender domain mismatches per hour", ref="B"),
        target(f'sum by (table) (increase(mailwatch_postfix_sasl_tracking_dropped_total{{{I}}}[1h]))', "dropped {{table}} per hour", ref="C"),
    ], desc="SASL users that submitted over the window; authenticated submissions whose envelope sender domain differs from the user's domain; users and queue ids not tracked because the tables were full (logs.sasl_max_users, logs.sasl_max_queue_ids)."), 8, 8)
    L.add(timeseries("Outbound deliveries per hour, against the same hour last week", [
        target(f'sum(increase(mailwatch_postfix_deliveries_total{{{I},transport="smtp"}}[1h]))', "this week"),
        target(f'sum(increase(mailwatch_postfix_deliveries_total{{{I},transport="smtp"}}[1h] offset 1w))', "a week before", ref="B"),
    ], desc="smtp recipient lines (sent, deferred, bounced) per hour; alert PostfixOutboundVolumeSurge fires above 3x the same hour last week."), 8, 8)

    L.row("Certificates and reputation")
    L.add(table("Certificates", [
        target(f'mailwatch_cert_not_after_timestamp_seconds{{{I}}} - time()', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_cert_verify_success{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_cert_endpoint_matches_file{{{I}}}', ref="C", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Expires in", unit="s", thresholds=["red", (7 * 86400, "orange"), (30 * 86400, "green")]),
        override("Value #B", display="Verifies", thresholds=["red", (1, "green")]),
        override("Value #C", display="Serves renewed file", thresholds=["red", (1, "green")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True}}), 12, 8)
    L.add(table("Certificate checks", [
        target(f'mailwatch_cert_check_success{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'time() - mailwatch_cert_not_before_timestamp_seconds{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_cert_endpoint_tls_version_info{{{I}}} == 1', ref="C", instant=True, fmt="table"),
    ], desc="Whether each target could be checked, how long ago its certificate was issued (a renewal resets it), and the TLS version its endpoint negotiated.",
        overrides=[
            override("Value #A", display="Checked", thresholds=["red", (1, "green")]),
            override("Value #B", display="Issued", unit="s"),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True, "Value #C": True}}), 12, 8)
    L.add(table("Certificate discovery", [
        target(f'mailwatch_cert_discovery_success{{{I}}}', ref="A", instant=True, fmt="table"),
    ], desc="Whether the certificate paths could be read from the Postfix and Dovecot configuration.",
        overrides=[override("Value", display="Found", thresholds=["red", (1, "green")])],
        organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 12, 8)
    L.add(timeseries("Blocklist zones answering", [target(f'min by (zone) (mailwatch_dnsbl_query_success{{{I}}})', "{{zone}}")], desc="1 while every target could be checked against the zone. A zone that refuses the resolver (Spamhaus through a public resolver) leaves the host unchecked there, not clean."), 12, 8)
    L.add(timeseries("Blocklist query errors per hour by zone and reason", [target(f'sum by (zone, reason) (increase(mailwatch_dnsbl_query_errors_total{{{I}}}[1h]))', "{{zone}} {{reason}}")]), 12, 8)
    L.add(table("Mail DNS policy", [
        target(f'mailwatch_dns_dmarc_policy{{{I}}} == 1', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_dns_spf_lookups{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'min by (domain) (mailwatch_dns_check_query_success{{{I}}})', ref="C", instant=True, fmt="table"),
    ], desc="DMARC policy per domain, DNS lookups its SPF record needs (more than 10 is a permerror at receivers), and whether the resolver answered every check.",
        overrides=[
            override("Value #B", display="SPF lookups", thresholds=["green", (8, "orange"), (11, "red")]),
            override("Value #C", display="Resolver answered", thresholds=["red", (1, "green")]),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True, "Value #A": True}}), 12, 8)
    L.add(table("SPF of the sending addresses", [
        target(f'mailwatch_dns_spf_result{{{I}}} == 1', ref="A", instant=True, fmt="table"),
    ], desc="The domain's SPF record evaluated for each configured sending address, as receivers do: anything but pass means its mail fails SPF.",
        organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True, "Value": True}}), 12, 8)
    L.add(table("DANE of the MX hosts", [
        target(f'mailwatch_dns_dane_match{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_dns_dane_certificate_read_success{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_dns_dane_tlsa_records{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_dns_dane_query_success{{{I}}}', ref="D", instant=True, fmt="table"),
    ], desc="Per MX host and certificate (served on port 25, or the file): whether a usable TLSA record matches it, whether it could be read, how many usable TLSA records are published, and whether the TLSA query was answered (a served or file certificate that no record matches: see MailDANEMismatch).",
        overrides=[
            override("Value #A", display="TLSA matches", thresholds=["red", (1, "green")]),
            override("Value #B", display="Read", thresholds=["red", (1, "green")]),
            override("Value #C", display="TLSA records"),
            override("Value #D", display="TLSA query answered", thresholds=["red", (1, "green")]),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True}}), 12, 8)
    L.add(table("MTA-STS and TLS-RPT", [
        target(f'mailwatch_dns_mta_sts_mode{{{I}}} == 1', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_dns_mta_sts_policy_valid{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_dns_mta_sts_mx_covered{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_dns_mta_sts_max_age_seconds{{{I}}}', ref="D", instant=True, fmt="table"),
        target(f'mailwatch_dns_tls_rpt_record_present{{{I}}}', ref="E", instant=True, fmt="table"),
        target(f'mailwatch_dns_mta_sts_policy_changed_without_new_id{{{I}}}', ref="F", instant=True, fmt="table"),
        target(f'mailwatch_dns_mta_sts_policy_id_info{{{I}}}', ref="G", instant=True, fmt="table"),
    ], desc="Per domain with mta_sts: the policy's mode, whether record and policy are valid, whether its mx patterns cover every MX host, its max_age, whether a TLS-RPT record is published, the _mta-sts id, and whether the policy changed while the id stayed the same (senders keep their cached policy until the id changes).",
        overrides=[
            override("Value #B", display="Policy valid", thresholds=["red", (1, "green")]),
            override("Value #C", display="MX covered", thresholds=["red", (1, "green")]),
            override("Value #D", display="max_age", unit="s"),
            override("Value #E", display="TLS-RPT", thresholds=["red", (1, "green")]),
            override("Value #F", display="Changed, same id", thresholds=["green", (1, "red")]),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True, "Value #A": True, "Value #G": True}}), 12, 8)
    L.add(table("MTA-STS: MX hosts as senders judge them", [
        target(f'mailwatch_dns_mta_sts_mx_result{{{I}}} == 1', ref="A", instant=True, fmt="table"),
    ], desc="Per MTA-STS domain and MX host (mode enforce or testing): ok, or why a sender applying the policy refuses it: not_covered (no mx pattern), starttls_not_supported, validation_failure, certificate_host_mismatch, certificate_expired, certificate_not_trusted (what port 25 serves; see MailMTASTSMXCertificateInvalid), unreachable (not checked).",
        organize={"excludeByName": {"Time": True, "instance": True, "job": True, "__name__": True, "Value": True}}), 12, 8)
    L.add(table("Blocklists and mail DNS", [
        target(f'mailwatch_dnsbl_listed{{{I}}} == 1', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_dns_check_success{{{I}}} == 0', ref="B", instant=True, fmt="table"),
    ], desc="Only problems are listed: listings, and failing DNS checks.",
        organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 12, 8)

    L.row("Storage and mailboxes")
    L.add(timeseries("Free space", [target(f'mailwatch_filesystem_avail_bytes{{{I}}} / mailwatch_filesystem_size_bytes{{{I}}}', "{{path}}")], unit="percentunit"), 8, 8)
    L.add(timeseries("Largest mailboxes", [target(f'topk(10, mailwatch_mailbox_size_bytes{{{I}}})', "{{mailbox}}")], unit="bytes"), 8, 8)
    L.add(timeseries("Free inodes", [target(f'mailwatch_filesystem_files_free{{{I}}} / mailwatch_filesystem_files{{{I}}} > 0', "{{path}}")], unit="percentunit", desc="File systems without an inode limit (btrfs, zfs) report 0 inodes and are left out."), 8, 8)
    L.add(table("File systems", [
        target(f'mailwatch_filesystem_stat_success{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_filesystem_readonly{{{I}}}', ref="B", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Measured", thresholds=["red", (1, "green")]),
        override("Value #B", display="Read-only", thresholds=["green", (1, "red")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)
    L.add(timeseries("Messages in the largest mailboxes", [target(f'topk(10, mailwatch_mailbox_messages{{{I}}})', "{{mailbox}}")]), 8, 8)
    L.add(timeseries("Quota use, fullest mailboxes", [target(f'topk(10, mailwatch_mailbox_quota_usage_ratio{{{I}}})', "{{mailbox}}")], unit="percentunit", desc="Dovecot quota (mailbox.quota): the higher of storage and message use."), 8, 8)
    L.add(table("Quotas", [
        target(f'mailwatch_mailbox_quota_used_bytes{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_quota_limit_bytes{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_quota_used_messages{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_quota_limit_messages{{{I}}}', ref="D", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_quota_success{{{I}}}', ref="E", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Used", unit="bytes"),
        override("Value #B", display="Limit", unit="bytes"),
        override("Value #C", display="Messages"),
        override("Value #D", display="Message limit"),
        override("Value #E", display="doveadm OK", thresholds=["red", (1, "green")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)
    L.add(table("Mail domains", [
        target(f'mailwatch_mailbox_domain_size_bytes{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_domain_messages{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_domain_mailboxes{{{I}}}', ref="C", instant=True, fmt="table"),
    ], desc="Per-domain totals (mailbox.domains, off by default).",
        overrides=[
            override("Value #A", display="Size", unit="bytes"),
            override("Value #B", display="Messages"),
            override("Value #C", display="Mailboxes"),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)
    L.add(table("Mailbox roots", [
        target(f'mailwatch_mailbox_root_success{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_root_mailboxes{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_mailbox_root_unmeasured_mailboxes{{{I}}}', ref="C", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Read", thresholds=["red", (1, "green")]),
        override("Value #B", display="Mailboxes"),
        override("Value #C", display="Not measured", thresholds=["green", (1, "orange")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)

    L.row("Backups")
    L.add(timeseries("Age of newest backup", [target(f'time() - mailwatch_backup_newest_timestamp_seconds{{{I}}}', "{{backup}}")], unit="s"), 8, 8)
    L.add(timeseries("Size of newest backup", [target(f'mailwatch_backup_newest_size_bytes{{{I}}}', "{{backup}}")], unit="bytes", desc="A sudden drop often means a backup that stopped including something."), 8, 8)
    L.add(table("Backup sets", [
        target(f'mailwatch_backup_scan_success{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_backup_files{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_backup_verify_success{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'time() - mailwatch_backup_verify_timestamp_seconds{{{I}}}', ref="D", instant=True, fmt="table"),
        target(f'time() - mailwatch_backup_verified_file_timestamp_seconds{{{I}}}', ref="E", instant=True, fmt="table"),
        target(f'mailwatch_backup_verified_entries{{{I}}}', ref="F", instant=True, fmt="table"),
    ], desc="Verification reads the newest archive back (backup.sets[].verify).",
        overrides=[
            override("Value #A", display="Scanned", thresholds=["red", (1, "green")]),
            override("Value #B", display="Files"),
            override("Value #C", display="Verifies", thresholds=["red", (1, "green")]),
            override("Value #D", display="Verified", unit="s"),
            override("Value #E", display="Verified archive age", unit="s"),
            override("Value #F", display="Entries"),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)

    L.row("Saturation and quarantine")
    L.add(timeseries("Postfix services: share of process limit", [target(f'topk(10, mailwatch_postfix_service_processes{{{I}}} / mailwatch_postfix_service_process_limit{{{I}}} unless on (instance, job, postfix_instance, service) mailwatch_postfix_service_process_limit{{{I}}} == 1)', "{{postfix_instance}} {{service}}")], unit="percentunit",
        desc="Processes of each master.cf service over its maxproc (services limited to 1, such as qmgr, left out). At 100 % master starts no more and clients wait."), 8, 8)
    L.add(timeseries("Dovecot services: share of process limit", [target(f'mailwatch_dovecot_service_processes{{{I}}} / mailwatch_dovecot_service_process_limit{{{I}}} unless on (instance, job, service) mailwatch_dovecot_service_process_limit{{{I}}} == 1', "{{service}}")], unit="percentunit",
        desc="Login processes are one per connection in the default service_count = 1."), 8, 8)
    L.add(timeseries("Quarantined messages", [target(f'mailwatch_quarantine_messages{{{I}}}', "{{quarantine}}")], desc="quarantine.sets: amavis virusmails/, spam quarantines, .Junk folders."), 8, 8)
    L.add(table("Postfix services", [
        target(f'mailwatch_postfix_service_processes{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_postfix_service_process_limit{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_postfix_stress_mode{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_postfix_smtpd_client_limit{{{I},limit="connection_count"}}', ref="D", instant=True, fmt="table"),
        target(f'mailwatch_postfix_smtpd_client_limit{{{I},limit="connection_rate"}} / on (instance, job, postfix_instance) group_left mailwatch_postfix_anvil_rate_time_unit_seconds{{{I}}} * 60', ref="E", instant=True, fmt="table"),
        target(f'mailwatch_postfix_saturation_success{{{I}}}', ref="F", instant=True, fmt="table"),
    ], desc="smtpd client limits: 0 means none. The connection rate is per minute (anvil_rate_time_unit converted).",
        overrides=[
            override("Value #A", display="Processes"),
            override("Value #B", display="Limit"),
            override("Value #C", display="Stress", thresholds=["green", (1, "red")]),
            override("Value #D", display="Connections per client"),
            override("Value #E", display="Connections per client per minute"),
            override("Value #F", display="Read", thresholds=["red", (1, "green")]),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "limit": True}}), 12, 8)
    L.add(table("Dovecot services", [
        target(f'mailwatch_dovecot_service_processes{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_dovecot_service_process_limit{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_dovecot_service_client_limit{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_dovecot_saturation_success{{{I}}}', ref="D", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Processes"),
        override("Value #B", display="Process limit"),
        override("Value #C", display="Client limit"),
        override("Value #D", display="doveconf OK", thresholds=["red", (1, "green")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 6, 8)
    L.add(table("Quarantines", [
        target(f'mailwatch_quarantine_messages{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_quarantine_bytes{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'time() - mailwatch_quarantine_oldest_message_timestamp_seconds{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_quarantine_directories{{{I}}}', ref="D", instant=True, fmt="table"),
        target(f'mailwatch_quarantine_scan_success{{{I}}}', ref="E", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Messages"),
        override("Value #B", display="Size", unit="bytes"),
        override("Value #C", display="Oldest", unit="s"),
        override("Value #D", display="Directories"),
        override("Value #E", display="Scanned", thresholds=["red", (1, "green")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 6, 8)

    L.row("Services and mailwatchd")
    L.add(table("Services", [
        target(f'mailwatch_service_state{{{I}}} == 1', ref="A", instant=True, fmt="table"),
        target(f'time() - mailwatch_service_start_timestamp_seconds{{{I}}}', ref="B", instant=True, fmt="table"),
    ], overrides=[override("Value #B", display="Up for", unit="s")],
        organize={"excludeByName": {"Time": True, "instance": True, "job": True, "Value #A": True}}), 12, 8)
    L.add(table("Collectors", [
        target(f'mailwatch_collector_success{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_collector_duration_seconds{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'time() - mailwatch_collector_last_success_timestamp_seconds{{{I}}}', ref="C", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="OK", thresholds=["red", (1, "green")]),
        override("Value #B", display="Last run", unit="s"),
        override("Value #C", display="Last success", unit="s"),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 12, 8)
    L.add(timeseries("Service restarts per hour", [target(f'increase(mailwatch_service_restarts_total{{{I}}}[1h])', "{{unit}}")]), 8, 8)
    L.add(timeseries("Service memory", [target(f'mailwatch_service_memory_bytes{{{I}}}', "{{unit}}")], unit="bytes"), 8, 8)
    L.add(timeseries("Service CPU", [target(f'rate(mailwatch_service_cpu_seconds_total{{{I}}}[$__rate_interval])', "{{unit}}")], unit="percentunit", desc="Share of one core."), 8, 8)
    L.add(table("Service checks", [
        target(f'mailwatch_service_check_success{{{I}}}', ref="A", instant=True, fmt="table"),
    ], overrides=[override("Value", display="Figures read", thresholds=["red", (1, "green")])],
        organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 8, 8)

    L.row("Updates and ClamAV")
    L.add(stat("Pending updates", f'mailwatch_updates_pending{{{I},kind="all"}}', thresholds=[(1, "orange")]), 4, 4)
    L.add(stat("Security updates", f'mailwatch_updates_pending{{{I},kind="security"}}', thresholds=[(1, "red")]), 4, 4)
    L.add(stat("Reboot required", f'mailwatch_reboot_required{{{I}}}', thresholds=[(1, "orange")], mappings=[{"type": "value", "options": {"0": {"text": "no"}, "1": {"text": "yes"}}}]), 4, 4)
    L.add(stat("Package lists age", f'time() - mailwatch_updates_apt_lists_timestamp_seconds{{{I}}}', unit="s", thresholds=[(3 * 86400, "orange")]), 4, 4)
    L.add(stat("Update check", f'mailwatch_updates_check_success{{{I}}}', thresholds=[(1, "green")], mappings=[{"type": "value", "options": {"0": {"text": "failing", "color": "red"}, "1": {"text": "ok"}}}]), 4, 4)
    L.newline()
    L.add(table("ClamAV databases", [
        target(f'time() - mailwatch_clamav_database_build_timestamp_seconds{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_clamav_database_version{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_clamav_database_signatures{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_clamav_database_read_success{{{I}}}', ref="D", instant=True, fmt="table"),
    ], overrides=[
        override("Value #A", display="Age", unit="s", thresholds=["green", (2 * 86400, "red")]),
        override("Value #B", display="Version"),
        override("Value #C", display="Signatures"),
        override("Value #D", display="Read", thresholds=["red", (1, "green")]),
    ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 24, 6)

    L.row("Log pipeline")
    L.add(timeseries("Lines per second by source", [target(f'sum by (source) (rate(mailwatch_log_lines_total{{{I}}}[$__rate_interval]))', "{{source}}")]), 8, 8)
    L.add(timeseries("Unmatched share by program", [target(f'sum by (program) (rate(mailwatch_log_unmatched_lines_total{{{I}}}[$__rate_interval])) / scalar(sum(rate(mailwatch_log_lines_total{{{I}}}[$__rate_interval])))', "{{program}}")], unit="percentunit", desc="Lines no rule knows: a jump for one program means its log format changed (mailwatchd replay lists their shapes)."), 8, 8)
    L.add(timeseries("Time since the newest line", [target(f'time() - mailwatch_log_last_line_timestamp_seconds{{{I}}}', "{{source}}")], unit="s"), 8, 8)
    L.add(timeseries("Malformed lines and read errors per hour", [
        target(f'sum by (source) (increase(mailwatch_log_malformed_lines_total{{{I}}}[1h]))', "malformed {{source}}"),
        target(f'sum by (source) (increase(mailwatch_log_read_errors_total{{{I}}}[1h]))', "read errors {{source}}", ref="B"),
        target(f'increase(mailwatch_log_state_save_failures_total{{{I}}}[1h])', "state save failures", ref="C"),
    ]), 8, 8)
    L.add(timeseries("Unread and skipped bytes", [
        target(f'mailwatch_log_unread_bytes{{{I}}}', "unread {{source}}"),
        target(f'increase(mailwatch_log_skipped_bytes_total{{{I}}}[1h])', "skipped per hour {{source}}", ref="B"),
    ], unit="bytes", desc="Unread: behind the end of the file now. Skipped: backlog over logs.max_catchup_bytes, never counted."), 8, 8)
    L.add(timeseries("Rotations and truncations per day", [
        target(f'sum by (source) (increase(mailwatch_log_rotations_total{{{I}}}[1d]))', "rotations {{source}}"),
        target(f'sum by (source) (increase(mailwatch_log_truncations_total{{{I}}}[1d]))', "truncations {{source}}", ref="B"),
    ]), 8, 8)

    L.row("Chores, configuration and maintenance")
    L.add(stat("Maintenance", f'mailwatch_maintenance_active{{{I}}}', mappings=[{"type": "value", "options": {"0": {"text": "no", "color": "green"}, "1": {"text": "IN MAINTENANCE", "color": "blue"}}}],
               desc="mailwatchd maintenance start|stop; while active, the alert MailMaintenance inhibits the host's other alerts."), 4, 4)
    L.add(stat("Maintenance ends in", f'mailwatch_maintenance_end_timestamp_seconds{{{I}}} - time()', unit="s"), 4, 4)
    L.add(stat("Maintenance started", f'time() - mailwatch_maintenance_start_timestamp_seconds{{{I}}}', unit="s", desc="Time since the window started."), 4, 4)
    L.add(stat("Unattended upgrades", f'mailwatch_updates_unattended_enabled{{{I}}}', mappings=[{"type": "value", "options": {"0": {"text": "off", "color": "orange"}, "1": {"text": "on", "color": "green"}}}]), 4, 4)
    L.add(stat("Last unattended upgrade", f'mailwatch_updates_unattended_last_run_success{{{I}}}', mappings=[{"type": "value", "options": {"0": {"text": "failed", "color": "red"}, "1": {"text": "ok", "color": "green"}}}]), 4, 4)
    L.add(stat("Unattended upgrade ran", f'time() - mailwatch_updates_unattended_last_run_timestamp_seconds{{{I}}}', unit="s", thresholds=[(3 * 86400, "orange")], desc="Time since the last run started."), 4, 4)
    L.newline()
    L.add(table("Timers", [
        target(f'mailwatch_timer_present{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'time() - mailwatch_timer_last_trigger_timestamp_seconds{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'mailwatch_timer_last_result_success{{{I}}}', ref="C", instant=True, fmt="table"),
        target(f'mailwatch_timer_last_exit_status{{{I}}}', ref="D", instant=True, fmt="table"),
        target(f'mailwatch_timer_next_elapse_timestamp_seconds{{{I}}} - time()', ref="E", instant=True, fmt="table"),
    ], desc="collectors.service.timers: the service each timer starts, its last result and exit status. Without systemd, certbot's log and apt's stamps.",
        overrides=[
            override("Value #A", display="Installed", thresholds=["orange", (1, "green")]),
            override("Value #B", display="Last run", unit="s"),
            override("Value #C", display="Result", thresholds=["red", (1, "green")]),
            override("Value #D", display="Exit status"),
            override("Value #E", display="Next in", unit="s"),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True}}), 12, 8)
    L.add(table("Configuration", [
        target(f'mailwatch_config_info{{{I}}}', ref="A", instant=True, fmt="table"),
        target(f'mailwatch_config_read_success{{{I}}}', ref="B", instant=True, fmt="table"),
        target(f'time() - mailwatch_config_change_timestamp_seconds{{{I}}}', ref="C", instant=True, fmt="table"),
    ], desc="Hash of postconf -n, doveconf -n and OpenDKIM's file; it changes with any setting. The overview dashboard shows hashes no other host shares.",
        overrides=[
            override("Value #B", display="Read", thresholds=["red", (1, "green")]),
            override("Value #C", display="Files changed", unit="s"),
        ], organize={"excludeByName": {"Time": True, "instance": True, "job": True, "Value #A": True}}), 8, 8)
    L.add(stat("postfix check", f'mailwatch_postfix_check_success{{{I}}}', mappings=[{"type": "value", "options": {"0": {"text": "problems", "color": "red"}, "1": {"text": "ok", "color": "green"}}}],
               desc="Runs only when mailwatchd is root."), 4, 8)

    L.row("Mail round trip")
    L.add(stat("Round trip", f'mailwatch_roundtrip_last_result{{{I},result="ok"}}', mappings=[{"type": "value", "options": {"0": {"text": "FAILING", "color": "red"}, "1": {"text": "ok", "color": "green"}}}],
               desc="collectors.roundtrip: the last probe was submitted, arrived in the probe mailbox, passed its DKIM and spam header checks and was deleted."), 4, 4)
    L.add(stat("Last successful probe", f'time() - mailwatch_roundtrip_last_success_timestamp_seconds{{{I}}}', unit="s", thresholds=[(900, "orange"), (1800, "red")]), 4, 4)
    L.add(stat("Last probe", f'time() - mailwatch_roundtrip_last_probe_timestamp_seconds{{{I}}}', unit="s", desc="Time since the last probe ended, whatever its result."), 4, 4)
    L.add(stat("Last latency", f'mailwatch_roundtrip_last_latency_seconds{{{I}}}', unit="s", thresholds=[(30, "orange"), (90, "red")], desc="Submission to arrival of the last probe that arrived in time."), 4, 4)
    L.add(stat("Stragglers removed (24 h)", f'increase(mailwatch_roundtrip_stragglers_removed_total{{{I}}}[24h])', thresholds=[(1, "orange")],
               desc="Probes that arrived after their timeout, or were left by a crash, deleted by a later run."), 4, 4)
    L.newline()
    L.add(timeseries("Round-trip latency", [
        target(f'histogram_quantile(0.5, sum by (le) (rate(mailwatch_roundtrip_latency_seconds_bucket{{{I}}}[1h])))', "median"),
        target(f'histogram_quantile(0.95, sum by (le) (rate(mailwatch_roundtrip_latency_seconds_bucket{{{I}}}[1h])))', "95th percentile", ref="B"),
    ], unit="s", desc="Over the probes of the last hour (one every collectors.roundtrip.interval)."), 12, 8)
    L.add(timeseries("Round-trip probes by result per hour", [
        target(f'sum by (result) (increase(mailwatch_roundtrip_probes_total{{{I}}}[1h]))', "{{result}}"),
    ], stack=True), 12, 8)

    L.row("mailwatchd")
    L.add(timeseries("Collector runs and failures per hour", [
        target(f'sum by (collector) (increase(mailwatch_collector_runs_total{{{I}}}[1h]))', "runs {{collector}}"),
        target(f'sum by (collector) (increase(mailwatch_collector_failures_total{{{I}}}[1h]))', "failures {{collector}}", ref="B"),
    ]), 12, 8)
    L.add(stat("Last config reload", f'mailwatch_config_last_reload_successful{{{I}}}', mappings=[{"type": "value", "options": {"0": {"text": "failed", "color": "red"}, "1": {"text": "ok", "color": "green"}}}]), 6, 4)
    L.add(stat("Config loaded", f'time() - mailwatch_config_last_reload_success_timestamp_seconds{{{I}}}', unit="s"), 6, 4)
    return dashboard("mailwatchd-host", "Mail host", "One mail host in detail: mail flow, queue, security, certificates, storage, services.", L, False, ["mailwatchd", "mail"])


HOST = host()
for p in HOST["panels"]:
    HOST_PANELS.setdefault(p["title"], p["id"])
for name, d in (("overview", overview()), ("host", HOST)):
    with open(os.path.join(HERE, f"mailwatchd-{name}.json"), "w") as f:
        json.dump(d, f, indent=2, sort_keys=False)
        f.write("\n")

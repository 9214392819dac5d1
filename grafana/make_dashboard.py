#!/usr/bin/env python3
# Generates grafana/porthop-dashboard.json: python3 grafana/make_dashboard.py > grafana/porthop-dashboard.json
# Every PromQL expression here is evaluated by tests/integration/test_metrics_prometheus.sh.
import json
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
panels = []
y = 0
def panel(title, targets, unit, x, w=12, h=8, kind="timeseries", desc="", stack=False):
    global panels
    p = {
        "type": kind, "title": title, "description": desc, "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"datasource": DS, "refId": chr(ord("A") + i), "expr": e, "legendFormat": l, "range": True, "instant": False}
                    for i, (e, l) in enumerate(targets)],
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                                  "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "none", "textMode": "auto", "orientation": "auto"}
    panels.append(p)

def text(title, content, x, w=24, h=8, desc=""):
    panels.append({"type": "text", "title": title, "description": desc, "gridPos": {"x": x, "y": y, "w": w, "h": h},
                   "options": {"mode": "markdown", "content": content}})

def row(title):
    global y
    panels.append({"type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
    y += 1

row("Overview")
panel("Relays up", [(f'up{{{SEL}}}', "{{instance}} ({{job}})")], "none", 0, w=6, h=4, kind="stat",
      desc="1 while Prometheus scrapes the relay's /metrics.")
panel("Sessions", [(f'sum by (job, instance) (porthop_sessions{{{SEL}}})', "{{instance}}")], "none", 6, w=6, h=4, kind="stat",
      desc="Sessions currently open (porthop_sessions).")
panel("Uptime", [(f'time() - process_start_time_seconds{{{SEL}}}', "{{instance}}")], "s", 12, w=6, h=4, kind="stat")
panel("Build", [(f'porthop_build_info{{{SEL}}}', "{{instance}} {{role}} {{mode}} {{version}}")], "none", 18, w=6, h=4, kind="stat",
      desc="porthop_build_info: version, role and mode of each relay.")
y += 4

row("Traffic")
panel("Throughput by direction", [(f'sum by (job, instance, direction) (rate(porthop_bytes_total{{{SEL}}}[$__rate_interval])) * 8', "{{instance}} {{direction}}")],
      "bps", 0, desc="Payload bits per second relayed; upstream is towards the QUIC server.")
panel("Packets by direction", [(f'sum by (job, instance, direction) (rate(porthop_packets_total{{{SEL}}}[$__rate_interval]))', "{{instance}} {{direction}}")],
      "pps", 12, desc="Datagrams per second relayed.")
y += 8
panel("Drops by reason", [(f'sum by (job, instance, reason) (rate(porthop_dropped_packets_total{{{SEL}}}[$__rate_interval]))', "{{instance}} {{reason}}")],
      "pps", 0, stack=True, desc="Datagrams dropped per second, by reason (porthop_dropped_packets_total).")
panel("Hops per second by reason", [(f'sum by (job, instance, reason) (rate(porthop_hops_total{{{SEL}}}[$__rate_interval]))', "{{instance}} {{reason}}")],
      "ops", 12, stack=True, desc="Port hops per second (client relay), by reason: interval, bytes, stall, slowdown.")
y += 8

row("Sessions and queues")
panel("Sessions open", [(f'sum by (job, instance) (porthop_sessions{{{SEL}}})', "{{instance}}")], "none", 0, w=8)
panel("Sessions opened / closed per second",
      [(f'sum by (job, instance) (rate(porthop_sessions_opened_total{{{SEL}}}[$__rate_interval]))', "{{instance}} opened"),
       (f'sum by (job, instance, reason) (rate(porthop_sessions_closed_total{{{SEL}}}[$__rate_interval]))', "{{instance}} closed ({{reason}})")],
      "ops", 8, w=8)
panel("Send-queue bytes", [(f'sum by (job, instance) (porthop_send_queue_bytes{{{SEL}}})', "{{instance}}")], "bytes", 16, w=8,
      desc="Bytes waiting in user-space send queues for a writable socket (bounded).")
y += 8
# Per-session figures are not Prometheus series (unbounded label values); the
# relay lists them itself on GET /sessions, which `porthop status` prints.
text("Each session: porthop status", """\
Prometheus holds the totals. **Each session** (its port, bytes, rate and hops) is on the relay itself: on the relay's host run

```
porthop status --metrics 127.0.0.1:9101          # the relay's --metrics address
porthop status --metrics 127.0.0.1:9101 --json   # for scripts
```

```
porthop client relay (plain mode) at 127.0.0.1:9101: 4 sessions, most recently active first
PEER             PORT   ON PORT         UP       DOWN     RATE UP      RATE DOWN    IDLE  LAST HOP            HOPS
10.77.1.2:34458  20018  207ms, 2.10 MB  39.1 MB  39.1 MB  40.0 Mbit/s  39.7 Mbit/s  0ms   207ms ago, bytes    19 (bytes 19)
10.77.1.2:38597  20016  5.3s, 60.5 kB   45.1 kB  45.1 kB  0 bit/s      0 bit/s      4.0s  5.3s ago, interval  1 (interval 1)
```

One line per session, most recently active first. It reads `GET /sessions` on the endpoint Prometheus scrapes
(JSON; `?limit=N`, default 100, at most 1000). See the README, "porthop status".
""", 0, h=10, desc="porthop status: the per-session view of a relay (GET /sessions on its --metrics endpoint).")
y += 10

row("Process")
panel("CPU", [(f'rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval])', "{{instance}}")], "percentunit", 0, w=8,
      desc="CPU time per second (1 = one core).")
panel("Memory", [(f'process_resident_memory_bytes{{{SEL}}}', "{{instance}} resident"),
                 (f'process_virtual_memory_bytes{{{SEL}}}', "{{instance}} virtual")], "bytes", 8, w=8)
panel("File descriptors", [(f'process_open_fds{{{SEL}}}', "{{instance}} open"),
                           (f'process_max_fds{{{SEL}}}', "{{instance}} max")], "none", 16, w=8)
y += 8

for i, p in enumerate(panels):
    p["id"] = i + 1

dashboard = {
    "__inputs": [],
    "title": "porthop",
    "uid": "porthop-relays",
    "description": "porthop UDP relays: traffic, drops, hops, sessions, queues and process resources.",
    "tags": ["porthop", "udp", "relay"],
    "editable": True,
    "graphTooltip": 1,
    "schemaVersion": 38,
    "version": 1,
    "refresh": "10s",
    "time": {"from": "now-1h", "to": "now"},
    "timezone": "",
    "panels": panels,
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "refresh": 1, "options": [], "regex": ""},
        {"name": "job", "label": "Job", "type": "query", "datasource": DS,
         "definition": "label_values(porthop_build_info, job)",
         "query": {"query": "label_values(porthop_build_info, job)", "refId": "job"},
         "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "options": [], "sort": 1, "hide": 0, "regex": ""},
        {"name": "instance", "label": "Instance", "type": "query", "datasource": DS,
         "definition": 'label_values(porthop_build_info{job=~"$job"}, instance)',
         "query": {"query": 'label_values(porthop_build_info{job=~"$job"}, instance)', "refId": "instance"},
         "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "options": [], "sort": 1, "hide": 0, "regex": ""},
    ]},
}
print(json.dumps(dashboard, indent=2))

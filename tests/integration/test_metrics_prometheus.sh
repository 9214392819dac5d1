#!/usr/bin/env bash
# A real Prometheus (scrape interval 1 s, on loopback, its own temporary
# storage) scrapes a client and a server relay while traffic flows through
# them. Via its HTTP API: up == 1 for both, rate(porthop_bytes_total) > 0 in
# both directions on both relays, the alert rules load and evaluate, and every
# PromQL expression of grafana/porthop-dashboard.json returns at least one
# series (so a renamed metric breaks this test, not a user's dashboard).
# Also `promtool check metrics` on both relays' real /metrics output.
. "$(dirname "$0")/lib/loopback.sh"

for cmd in prometheus promtool curl jq ss; do
    command -v "$cmd" >/dev/null || fail "missing command $cmd"
done
DASHBOARD=$PORTHOP_SRC/grafana/porthop-dashboard.json
ALERTS=$PORTHOP_SRC/grafana/alerts.yml

start_relays
start_traffic 60

check "promtool check metrics on both relays' /metrics: no problems, no lint warnings"
for ep in "$CLIENT_METRICS" "$SERVER_METRICS"; do
    curl -sf --max-time 2 "http://$ep/metrics" >"$WORKDIR/metrics.txt" || fail "GET http://$ep/metrics failed"
    out=$(promtool check metrics <"$WORKDIR/metrics.txt" 2>&1) || fail "promtool check metrics on $ep: $out"
    [[ -z $out ]] || fail "promtool check metrics on $ep warns: $out"
done
ok "both clean"

PROM_PORT=$(free_port)
PROM=http://127.0.0.1:$PROM_PORT
sed -e "s|@CLIENT_METRICS@|$CLIENT_METRICS|" -e "s|@SERVER_METRICS@|$SERVER_METRICS|" -e "s|@ALERTS@|$ALERTS|" \
    "$PORTHOP_SRC/tests/integration/prometheus/prometheus.yml.in" >"$WORKDIR/prometheus.yml"
promtool check config "$WORKDIR/prometheus.yml" >/dev/null || fail "promtool check config rejects the test's prometheus.yml"
log "prometheus on $PROM"
start_bg prometheus prometheus --config.file="$WORKDIR/prometheus.yml" --storage.tsdb.path="$WORKDIR/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
PROM_PID=$LAST_PID
prom_ready() { alive "$PROM_PID" && curl -sf --max-time 1 "$PROM/-/ready" >/dev/null; }
wait_until 30 prom_ready || fail "prometheus did not become ready on $PROM"

# query EXPR: the instant-query result (JSON array) on stdout; fails on an API error.
query() {
    local resp
    resp=$(curl -sf --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1") || return 1
    [[ $(jq -r .status <<<"$resp") == success ]] || return 1
    jq -c .data.result <<<"$resp"
}
series_count() { local r; r=$(query "$1") || { echo -1; return; }; jq length <<<"$r"; }
at_least() { (( $(series_count "$2") >= $1 )); }

check "up == 1 for both relays"
wait_until 30 at_least 2 'up{job=~"porthop-(client|server)"} == 1' ||
    fail "up: $(query 'up' || true)"
ok "$(query 'up' | jq -r 'map("\(.metric.job)=\(.value[1])") | join(" ")')"

check "rate(porthop_bytes_total[5s]) > 0 in both directions on both relays"
wait_until 30 at_least 4 'sum by (job, direction) (rate(porthop_bytes_total[5s])) > 0' ||
    fail "rates: $(query 'sum by (job, direction) (rate(porthop_bytes_total[5s]))' || true)"
ok "$(query 'sum by (job, direction) (rate(porthop_bytes_total[5s]))' |
    jq -r 'map("\(.metric.job) \(.metric.direction) \(.value[1] | tonumber | floor) B/s") | join(", ")')"
alive "$CLIENT_PID" || fail "the client relay exited"
alive "$SERVER_PID" || fail "the server relay exited"

check "every PromQL expression of the dashboard returns at least one series"
mapfile -t exprs < <(jq -r '.. | objects | .expr? // empty' "$DASHBOARD")
(( ${#exprs[@]} >= 10 )) || fail "only ${#exprs[@]} expressions found in $DASHBOARD"
# Grafana's variables, literally (not shell expansions).
# shellcheck disable=SC2016
for expr in "${exprs[@]}"; do
    q=${expr//'$__rate_interval'/5s}
    q=${q//'$job'/.*}
    q=${q//'$instance'/.*}
    wait_until 20 at_least 1 "$q" || fail "dashboard expression returns nothing: $q (result: $(query "$q" || echo 'API error'))"
done
ok "${#exprs[@]} expressions, each with at least one series"

check "the alert rules of grafana/alerts.yml are loaded and evaluate without errors"
rules_healthy() {
    local r
    r=$(curl -sf --max-time 5 "$PROM/api/v1/rules") || return 1
    [[ $(jq '[.data.groups[].rules[]] | length' <<<"$r") -ge 4 ]] &&
        [[ $(jq '[.data.groups[].rules[] | select(.health != "ok")] | length' <<<"$r") -eq 0 ]] &&
        [[ $(jq '[.data.groups[].rules[] | select(.lastEvaluation | startswith("0001"))] | length' <<<"$r") -eq 0 ]]
}
wait_until 20 rules_healthy || fail "rules: $(curl -sf "$PROM/api/v1/rules" | jq -c '[.data.groups[].rules[] | {name, health, lastError}]')"
firing=$(curl -sf "$PROM/api/v1/alerts" | jq -r '[.data.alerts[] | select(.state == "firing") | .labels.alertname] | join(",")')
[[ -z $firing ]] || fail "alerts firing on a healthy pair: $firing"
ok "$(curl -sf "$PROM/api/v1/rules" | jq '[.data.groups[].rules[]] | length') rules, all healthy, none firing"

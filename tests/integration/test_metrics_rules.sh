#!/usr/bin/env bash
# grafana/alerts.yml: `promtool check rules` finds no problem and
# `promtool test rules grafana/alerts_test.yml` passes (each alert fires when it
# should and stays quiet when it should not).
. "$(dirname "$0")/lib/base.sh"
harness_init

command -v promtool >/dev/null || fail "promtool is not installed (Debian: apt-get install prometheus)"
cd "$PORTHOP_SRC/grafana"

check "promtool check rules alerts.yml"
out=$(promtool check rules alerts.yml 2>&1) || { printf '%s\n' "$out" >&2; fail "promtool check rules reported problems"; }
printf '%s\n' "$out" | sed "s/^/[$TEST_NAME]     /"
grep -q "SUCCESS" <<<"$out" || fail "promtool check rules did not report SUCCESS"
grep -qi "warn" <<<"$out" && fail "promtool check rules printed warnings"

check "promtool test rules alerts_test.yml"
out=$(promtool test rules alerts_test.yml 2>&1) || { printf '%s\n' "$out" >&2; fail "promtool test rules failed"; }
printf '%s\n' "$out" | sed "s/^/[$TEST_NAME]     /"

# Every alert in alerts.yml has at least one test case.
while read -r alert; do
    grep -q "alertname: $alert\$" alerts_test.yml || fail "alert $alert has no test in alerts_test.yml"
done < <(grep -oE '^\s*- alert: \S+' alerts.yml | awk '{print $3}')

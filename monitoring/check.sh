#!/usr/bin/env bash
# Validates the monitoring assets with the real tools:
#   - both Prometheus configs (promtool check config, which also loads the rule file),
#   - that they differ only in the scrape and Alertmanager targets,
#   - the rule file (promtool check rules) and its unit tests (promtool test rules),
#   - that the unit tests notice every change to the rules (mutate-rules.py),
#   - the Alertmanager config (amtool check-config), where each severity is routed (amtool
#     config routes test), that its inhibition rules name existing alerts, and what they
#     mute, on a real Alertmanager started for the purpose,
#   - the Grafana dashboard: valid JSON, every panel's queries present, parseable PromQL
#     (checked by promtool as recording rules) and metric names the services really export.
#
# Usage, from anywhere:  bash monitoring/check.sh
# Needs promtool (Debian: apt-get install prometheus), amtool and the Alertmanager binary
# (Debian: apt-get install prometheus-alertmanager) and python3. Runs every check, prints a
# summary, and exits 1 if any failed. The mutation run takes minutes; it tests $MUTATE_JOBS
# mutations at a time (default: one per CPU).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v promtool >/dev/null 2>&1; then
  echo "check.sh: promtool not found on PATH." >&2
  echo "  Install it with 'apt-get install prometheus' (Debian/Ubuntu) or take it from a" >&2
  echo "  Prometheus release archive, then run this script again." >&2
  exit 2
fi
if ! command -v amtool >/dev/null 2>&1; then
  echo "check.sh: amtool not found on PATH; it validates alertmanager.yml and its routes." >&2
  echo "  Install it with 'apt-get install prometheus-alertmanager' (Debian/Ubuntu; it also" >&2
  echo "  brings the Alertmanager binary the inhibition check starts) or take both from an" >&2
  echo "  Alertmanager release archive, then run this script again." >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "check.sh: python3 not found on PATH; it is needed to check the dashboard JSON," >&2
  echo "  the Alertmanager config's references and to run the mutation test." >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failed=()
step() {
  local name="$1"
  shift
  printf '\n== %s\n' "$name"
  if "$@"; then
    echo "-- ok"
  else
    echo "-- FAILED: $name" >&2
    failed+=("$name")
  fi
}

# The two configs must stay identical apart from where the example server and Alertmanager
# are.
configs_in_step() {
  local strip='/^[[:space:]]*(#|$)/d'
  if diff -u \
    <(sed -E "$strip" prometheus.yml |
      sed -e 's/127\.0\.0\.1:3000/server:3000/' -e 's/127\.0\.0\.1:9093/alertmanager:9093/') \
    <(sed -E "$strip" prometheus.docker.yml); then
    echo "prometheus.yml and prometheus.docker.yml differ only in the scrape and Alertmanager targets"
  else
    echo "prometheus.yml and prometheus.docker.yml differ beyond the scrape and Alertmanager targets (diff above)" >&2
    return 1
  fi
}

# Structure of the dashboard, and its queries turned into a rule file for promtool.
dashboard_structure() {
  python3 - grafana/dashboards/vk-monitor.json prometheus-alerts.yml "$tmp/dashboard-rules.json" <<'PY'
import json, re, sys

dashboard_path, rules_path, out_path = sys.argv[1:4]
errors = []

try:
    with open(dashboard_path) as f:
        dashboard = json.load(f)
except (OSError, ValueError) as e:
    print(f"{dashboard_path}: not valid JSON: {e}", file=sys.stderr)
    sys.exit(1)

# What the services export (see the README's metrics table), plus the recording rules.
METRICS = {
    "http_requests_total", "http_requests_in_flight",
    "function_calls_total", "function_calls_in_flight", "function_errors_total",
    "build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
    "process_open_fds", "process_max_fds", "process_start_time_seconds", "process_threads",
    "voice_calls_active", "voice_calls_total", "health_check_up",
    "sentry_envelopes_dropped_total", "metrics_series_dropped_total",
    "http_client_requests_total", "http_client_requests_in_flight", "http_client_errors_total",
    "objective_target_ratio",
}
for histogram in ("http_request_duration_seconds", "function_call_duration_seconds",
                  "voice_call_duration_seconds", "health_check_duration_seconds",
                  "http_client_request_duration_seconds"):
    METRICS |= {histogram + s for s in ("_bucket", "_sum", "_count")}
with open(rules_path) as f:
    METRICS |= set(re.findall(r"^\s*-?\s*record:\s*([A-Za-z_:][A-Za-z0-9_:]*)", f.read(), re.M))

FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
    "deriv", "floor", "group", "histogram_quantile", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "max", "max_over_time", "min",
    "min_over_time", "quantile", "quantile_over_time", "rate", "resets", "round", "scalar",
    "sort", "sort_desc", "stddev", "sum", "sum_over_time", "time", "timestamp", "topk", "vector",
}
KEYWORDS = {"and", "or", "unless", "bool", "inf", "nan"}
GROUPING = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def metric_names(expr):
    """Identifiers of an expression that name series (roughly: not functions, keywords,
    labels, strings, numbers or durations)."""
    s = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(GROUPING, " ", s)
    s = re.sub(r"\boffset\s+\S+", " ", s)
    s = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?\b", " ", s)
    names, unknown_functions = set(), set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        followed_by_paren = re.match(r"\s*\(", s[m.end():]) is not None
        if word.lower() in KEYWORDS:
            continue
        if followed_by_paren and word not in METRICS:
            if word not in FUNCTIONS:
                unknown_functions.add(word)
        else:
            names.add(word)
    return names, unknown_functions


def to_promql(expr):
    """Replaces Grafana's variables with values PromQL accepts."""
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


if dashboard.get("schemaVersion") is None:
    errors.append("no schemaVersion")
variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
if variables.get("datasource", {}).get("type") != "datasource":
    errors.append("no `datasource` template variable of type datasource")

ids, rules, cells = set(), [], {}
for panel in all_panels(dashboard.get("panels", [])):
    title = panel.get("title", "<untitled>")
    where = f"panel {panel.get('id')} ({title!r})"
    if panel.get("id") in ids:
        errors.append(f"{where}: duplicate id")
    ids.add(panel.get("id"))
    g = panel.get("gridPos", {})
    for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
        for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
            if (x, y) in cells and panel.get("type") != "row":
                errors.append(f"{where}: overlaps {cells[(x, y)]}")
                break
            cells[(x, y)] = where
        else:
            continue
        break
    if panel.get("type") in ("row", "text"):
        continue
    if panel.get("datasource", {}).get("uid") != "${datasource}":
        errors.append(f"{where}: datasource is not the ${{datasource}} variable")
    targets = panel.get("targets", [])
    if not targets:
        errors.append(f"{where}: no targets")
    for t in targets:
        ref = t.get("refId", "?")
        expr = t.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            errors.append(f"{where} target {ref}: empty expr")
            continue
        names, unknown = metric_names(expr)
        for name in sorted(names - METRICS):
            errors.append(f"{where} target {ref}: unknown metric {name!r}")
        for name in sorted(unknown):
            errors.append(f"{where} target {ref}: unknown function {name!r}")
        rules.append({"record": f"dashboard_panel_{panel.get('id')}_{ref}", "expr": to_promql(expr)})

# JSON is YAML, so promtool reads this as a rule file.
with open(out_path, "w") as f:
    json.dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f, indent=2)

for e in errors:
    print(f"{dashboard_path}: {e}", file=sys.stderr)
if errors:
    sys.exit(1)
rows = sum(1 for p in all_panels(dashboard.get("panels", [])) if p.get("type") == "row")
print(f"{dashboard_path}: valid JSON, {len(ids) - rows} panels in {rows} rows, {len(rules)} queries, all non-empty, "
      f"all on known metrics")
PY
}

# Where Alertmanager routes an alert with these labels: exactly the expected receiver.
am_route() {
  local want="$1" out rc
  shift
  out="$(amtool config routes test --config.file=alertmanager.yml --verify.receivers="$want" "$@" 2>&1)"
  rc=$?
  # Debian's amtool config names a default Alertmanager URL; --config.file wins, say nothing.
  out="$(grep -v 'overrides the --alertmanager.url' <<<"$out")"
  echo "$* -> $out"
  return $rc
}

# The alert names the inhibition rules match exist in the rule file, every alert has a
# severity, and every severity the rules use has a route of its own (and every routed
# severity is used).
alertmanager_references() {
  python3 - alertmanager.yml prometheus-alerts.yml <<'PY'
import re, sys

am_path, rules_path = sys.argv[1:3]


def text(path):
    with open(path) as f:
        return re.sub(r"(^|\s)#.*$", "", f.read(), flags=re.M)


def section(body, key):
    m = re.search(rf"^{key}:\s*$(.*?)(?=^\S|\Z)", body, re.M | re.S)
    return m.group(1) if m else ""


MATCHER = r'{}\s*(=~|!~|!=|=)\s*(?:"((?:\\.|[^"\\])*)"|([A-Za-z0-9_:./-]+))'
rules = text(rules_path)
alerts = set(re.findall(r"^\s*-\s*alert:\s*(\S+)\s*$", rules, re.M))
used = set(re.findall(r'^\s*severity:\s*"?([A-Za-z0-9_-]+)"?\s*$', rules, re.M))
am = text(am_path)
errors = []
for block in re.split(r"^\s*-\s*(?=alert:|record:)", rules, flags=re.M)[1:]:
    name = block.split(":", 1)[1].split("\n", 1)[0].strip()
    if block.startswith("alert:") and not re.search(r"^\s*severity:\s*\S", block, re.M):
        errors.append(f"{rules_path}: alert {name} has no severity label, so no route of its own")

inhibit = section(am, "inhibit_rules")
if not inhibit.strip():
    errors.append("no inhibit_rules")
names = []
for op, quoted, bare in re.findall(MATCHER.format("alertname"), inhibit):
    value = quoted or bare
    names.append(value)
    if op in ("=", "!="):
        if value not in alerts:
            errors.append(f"inhibit_rules: alertname{op}{value!r} names no alert of {rules_path}")
    elif not any(re.fullmatch(value, a) for a in alerts):
        errors.append(f"inhibit_rules: alertname{op}{value!r} matches no alert of {rules_path}")
for legacy in re.findall(r"^\s*alertname:\s*\"?([A-Za-z0-9_:]+)", inhibit, re.M):
    names.append(legacy)
    if legacy not in alerts:
        errors.append(f"inhibit_rules: alertname {legacy!r} names no alert of {rules_path}")

route = section(am, "route")
routed = set()
for op, quoted, bare in re.findall(MATCHER.format("severity"), route):
    if op == "=":
        routed.add(quoted or bare)
for severity in sorted(used - routed):
    errors.append(f"route: no route for severity={severity!r}, which {rules_path} uses")
for severity in sorted(routed - used):
    errors.append(f"route: severity={severity!r} is routed but no rule of {rules_path} uses it")

for e in errors:
    print(f"{am_path}: {e}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"{am_path}: inhibition rules name {', '.join(sorted(set(names)))}, all alerts of {rules_path}; "
      f"all {len(alerts)} alerts have a severity, and {', '.join(sorted(used))} each have a route")
PY
}

# The inhibition rules mute what they say and nothing else: a real Alertmanager on a free
# loopback port, sent a set of alerts, reports which of them it inhibits.
alertmanager_inhibitions() {
  python3 - alertmanager.yml "$tmp" <<'PY'
import json, os, shutil, socket, subprocess, sys, time, urllib.request

config, tmp = sys.argv[1:3]
binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
if binary is None:
    print("no Alertmanager binary on PATH (Debian: apt-get install prometheus-alertmanager)", file=sys.stderr)
    sys.exit(1)

# (labels, inhibited?)
ALERTS = [
    # A fast burn mutes the slow burn of its job, not another job's.
    ({"alertname": "ErrorBudgetBurnFast", "job": "voice-calls", "severity": "page"}, False),
    ({"alertname": "ErrorBudgetBurnSlow", "job": "voice-calls", "severity": "ticket"}, True),
    ({"alertname": "ErrorBudgetBurnSlow", "job": "voice-calls-eu", "severity": "ticket"}, False),
    # An objective's page mutes its ticket of the same alert only: not another objective's,
    # not the latency alert's, not another job's.
    ({"alertname": "ObjectiveErrorBudgetBurn", "job": "voice-calls", "objective_name": "calls-api", "objective_percentile": "99.9", "severity": "page"}, False),
    ({"alertname": "ObjectiveErrorBudgetBurn", "job": "voice-calls", "objective_name": "calls-api", "objective_percentile": "99.9", "severity": "ticket"}, True),
    ({"alertname": "ObjectiveErrorBudgetBurn", "job": "voice-calls", "objective_name": "transcripts", "objective_percentile": "85", "severity": "ticket"}, False),
    ({"alertname": "ObjectiveLatencyBudgetBurn", "job": "voice-calls", "objective_name": "calls-api", "objective_percentile": "99", "severity": "ticket"}, False),
    ({"alertname": "ObjectiveErrorBudgetBurn", "job": "voice-calls-eu", "objective_name": "calls-api", "objective_percentile": "99.9", "severity": "ticket"}, False),
    # A down target mutes every other alert of its job, but not the other targets' ServiceDown
    # and not other jobs.
    ({"alertname": "ServiceDown", "job": "voice-calls-us", "instance": "10.0.0.3:3000", "severity": "page"}, False),
    ({"alertname": "ServiceDown", "job": "voice-calls-us", "instance": "10.0.0.4:3000", "severity": "page"}, False),
    ({"alertname": "HighErrorRate", "job": "voice-calls-us", "route": "/calls", "severity": "ticket"}, True),
    ({"alertname": "HealthCheckFailing", "job": "voice-calls-us", "instance": "10.0.0.3:3000",
      "check": "database", "kind": "readiness", "severity": "ticket"}, True),
    ({"alertname": "ErrorBudgetBurnFast", "job": "voice-calls-us", "severity": "page"}, True),
    ({"alertname": "HighErrorRate", "job": "voice-calls-eu", "route": "/calls", "severity": "ticket"}, False),
    # A failing dependency is an alert of the calling job: muted while a target of that job
    # is down, like the job's other alerts, and not by a down target of another job (the
    # dependency's own ServiceDown carries the dependency's job).
    ({"alertname": "DependencyErrorRate", "job": "voice-calls-us", "host": "speech.internal", "severity": "ticket"}, True),
    ({"alertname": "DependencyErrorRate", "job": "voice-calls-eu", "host": "speech.internal", "severity": "ticket"}, False),
    # A metric at its series limit is no symptom of a down target, but it is a ticket of the
    # job like the others: muted while a target of the job is down, and notified once it is
    # back (it fires for an hour after the last refusal).
    ({"alertname": "MetricsSeriesDropped", "job": "voice-calls-us", "metric": "voice_logins_total", "severity": "ticket"}, True),
    ({"alertname": "MetricsSeriesDropped", "job": "voice-calls-eu", "metric": "voice_logins_total", "severity": "ticket"}, False),
]

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
storage = os.path.join(tmp, "alertmanager")
os.mkdir(storage)
log = open(os.path.join(tmp, "alertmanager.log"), "w+")
proc = subprocess.Popen(
    [binary, f"--config.file={config}", f"--storage.path={storage}",
     f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
    stdout=log, stderr=subprocess.STDOUT)
base = f"http://127.0.0.1:{port}"


def call(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def key(labels):
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


status = 1
try:
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(base + "/-/ready", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                print(log.read(), file=sys.stderr)
                raise SystemExit("Alertmanager did not start")
            time.sleep(0.1)
    call("/api/v2/alerts", [{"labels": labels} for labels, _ in ALERTS])
    want = {key(labels): inhibited for labels, inhibited in ALERTS}
    # The inhibitor takes in new alerts asynchronously: ask until the answer settles.
    deadline = time.monotonic() + 10
    while True:
        got = {key(a["labels"]): bool(a["status"]["inhibitedBy"]) for a in call("/api/v2/alerts")}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for name in sorted(want):
        mark = "ok" if got.get(name) == want[name] else "WRONG"
        print(f"  {mark:5} {'inhibited' if want[name] else 'notified ':9}  {name}")
    if got == want:
        print(f"{len(want)} alerts sent to Alertmanager {base}: the inhibited ones are exactly those expected")
        status = 0
    else:
        print("Alertmanager inhibits other alerts than expected (WRONG above: the expectation)", file=sys.stderr)
finally:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
sys.exit(status)
PY
}

dashboard_promql() {
  [ -s "$tmp/dashboard-rules.json" ] || { echo "no dashboard queries to check" >&2; return 1; }
  promtool check rules "$tmp/dashboard-rules.json"
}

step "promtool check config prometheus.yml" promtool check config prometheus.yml
step "promtool check config prometheus.docker.yml" promtool check config prometheus.docker.yml
step "prometheus.yml and prometheus.docker.yml in step" configs_in_step
step "promtool check rules prometheus-alerts.yml" promtool check rules prometheus-alerts.yml
step "promtool test rules alerts*.test.yml" promtool test rules alerts*.test.yml
step "dashboard JSON, targets and metric names" dashboard_structure
step "dashboard PromQL parses (promtool check rules)" dashboard_promql
step "amtool check-config alertmanager.yml" amtool check-config alertmanager.yml
step "alertmanager routes severity=page to page" \
  am_route page alertname=ServiceDown job=voice-calls instance=127.0.0.1:3000 severity=page
step "alertmanager routes severity=ticket to ticket" \
  am_route ticket alertname=HighErrorRate job=voice-calls route=/calls severity=ticket
step "alertmanager routes DependencyErrorRate (severity=ticket) to ticket" \
  am_route ticket alertname=DependencyErrorRate job=voice-calls host=speech.internal severity=ticket
step "alertmanager routes MetricsSeriesDropped (severity=ticket) to ticket" \
  am_route ticket alertname=MetricsSeriesDropped job=voice-calls metric=voice_logins_total severity=ticket
step "alertmanager routes an objective's fast burn to page" \
  am_route page alertname=ObjectiveErrorBudgetBurn job=voice-calls objective_name=calls-api objective_percentile=99.9 severity=page
step "alertmanager routes an objective's slow burn to ticket" \
  am_route ticket alertname=ObjectiveLatencyBudgetBurn job=voice-calls objective_name=calls-api objective_percentile=99 severity=ticket
step "alertmanager routes another severity to default" \
  am_route default alertname=DiskFilling job=voice-calls severity=info
step "alertmanager routes an alert without severity to default" \
  am_route default alertname=DiskFilling job=voice-calls
step "alertmanager.yml names existing alerts, routes every severity" alertmanager_references
step "alertmanager inhibitions, on a real Alertmanager" alertmanager_inhibitions
step "mutation test: the unit tests fail for every change to the rules" \
  python3 mutate-rules.py --jobs "${MUTATE_JOBS:-$(nproc 2>/dev/null || echo 1)}"

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "monitoring checks FAILED (${#failed[@]}):" >&2
  printf '  - %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "monitoring checks passed"

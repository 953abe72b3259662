"""Parses an OpenMetrics text exposition from stdin with prometheus_client's strict parser.

Usage: python3 scripts/check-openmetrics.py < exposition.txt

Exits 1 with the parser's complaint if the exposition is not valid OpenMetrics 1.0, 2 if
prometheus_client is missing. Otherwise prints one JSON object: every family with its type
and unit, every sample with its labels, and every exemplar with the sample it belongs to.
"""
import json
import sys

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError as e:
    print(
        f"prometheus_client is missing ({e}): `python3 -m pip install prometheus-client`, "
        "or run .ci/install-tools, which does",
        file=sys.stderr,
    )
    sys.exit(2)

text = sys.stdin.read()
try:
    families = list(text_string_to_metric_families(text))
except Exception as e:  # the parser raises ValueError, and others on malformed input
    print(f"not valid OpenMetrics: {type(e).__name__}: {e}", file=sys.stderr)
    sys.exit(1)

out = {"families": {}, "samples": [], "exemplars": []}
for family in families:
    out["families"][family.name] = {"type": family.type, "unit": family.unit}
    for sample in family.samples:
        out["samples"].append({"name": sample.name, "labels": sample.labels, "value": sample.value})
        if sample.exemplar is not None:
            out["exemplars"].append({
                "family": family.name,
                "sample": sample.name,
                "labels": sample.labels,
                "exemplar": sample.exemplar.labels,
                "value": sample.exemplar.value,
                "timestamp": float(sample.exemplar.timestamp) if sample.exemplar.timestamp is not None else None,
            })
json.dump(out, sys.stdout)

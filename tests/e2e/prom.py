#!/usr/bin/python3
"""Reads a Prometheus text page with the Prometheus project's own parser
(python3-prometheus-client) and checks it or reads values from it.

  prom.py check FILE        parses; then lints what promtool's `check metrics`
                            lints: HELP and TYPE for every family, counters
                            named *_total, times in *_seconds, no duplicate
                            series, histogram buckets cumulative and ending at
                            +Inf == _count. Prints one problem a line, exits 1.
  prom.py get FILE SERIES   the value of one series, e.g.
                            'tollgate_http_requests_total{route="/",status="200"}'
                            (labels not given match any value; values summed);
                            0 when absent.
"""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def families(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text, list(text_string_to_metric_families(text))


def check(path):
    text, fams = families(path)
    problems = []
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for name, typ in types.items():
        if name not in helps:
            problems.append(f"{name}: no HELP")
        if typ == "counter" and not name.endswith("_total"):
            problems.append(f"{name}: counter not named *_total")
        if typ != "counter" and name.endswith("_total"):
            problems.append(f"{name}: *_total that is not a counter")
        if re.search(r"_(ms|us|milliseconds|microseconds)($|_)", name):
            problems.append(f"{name}: time not in seconds")
        if not name.startswith("tollgate_"):
            problems.append(f"{name}: no tollgate_ prefix")
    seen = set()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series = line.rsplit(" ", 1)[0]
        if series in seen:
            problems.append(f"duplicate series {series}")
        seen.add(series)
    for fam in fams:
        if fam.type != "histogram":
            continue
        groups = {}
        for s in fam.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            groups.setdefault(key, {"buckets": [], "count": None})
            if s.name.endswith("_bucket"):
                groups[key]["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                groups[key]["count"] = s.value
        for key, g in groups.items():
            b = g["buckets"]
            if not b or b[-1][0] != float("inf"):
                problems.append(f"{fam.name}{key}: no +Inf bucket")
                continue
            if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                problems.append(f"{fam.name}{key}: buckets not cumulative")
            if g["count"] != b[-1][1]:
                problems.append(f"{fam.name}{key}: _count != +Inf bucket")
    for p in problems:
        print(p)
    return 1 if problems else 0


def get(path, series):
    m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", series)
    name, labels = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
    _, fams = families(path)
    total = 0.0
    for fam in fams:
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    print(int(total) if total == int(total) else total)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) == 4 and sys.argv[1] == "get":
        sys.exit(get(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)

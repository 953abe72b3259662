#!/usr/bin/env python3
"""Who a thread's time belongs to, from `perf script` output with call chains (stdin).

Each sample goes to the crate of its innermost frame that is not generic code: the kernel,
libc (malloc, memcpy), `core`, `alloc`, `std` and `hashbrown` run for whoever called them, so
an allocation made by the HTTP layer counts as the layer's. Prints the share of samples per
owner (vk-monitor, sentry, metrics, the server stack: hyper, axum, tokio...) and, for the
owners named in --detail, the functions the time was spent under (the owning frame, and the
leaf when that is generic code).

    perf script -i perf.data -F ip,sym --no-inline | scripts/perf-owners.py --detail vk-monitor
"""

import argparse
import collections
import re
import sys

GENERIC = {"core", "alloc", "std", "hashbrown", "compiler_builtins", "memchr"}
OWNERS = {
    "vk_monitor": "vk-monitor",
    "quanta": "vk-monitor",  # the layer's clock
    "fastrand": "vk-monitor",  # its sampling draw
    "sentry": "sentry",
    "sentry_core": "sentry",
    "sentry_types": "sentry",
    "uuid": "sentry",
    "rand": "sentry",
    "rand_core": "sentry",
    "rand_chacha": "sentry",
    "metrics": "metrics",
    "metrics_util": "metrics",
    "metrics_exporter_prometheus": "metrics",
    "axum_prometheus": "axum-prometheus",
}
# The first segment of each path in a symbol: `std` in `<&std::os::X as std::io::Write>`.
CRATE = re.compile(r"(?<![A-Za-z0-9_:])([A-Za-z_][A-Za-z0-9_]*)::")


def owner(symbol):
    """The owner of a frame, or None for generic code."""
    for crate in CRATE.findall(symbol):
        if crate in GENERIC:
            continue
        return OWNERS.get(crate, "server (" + crate + ")")
    return None


def samples(lines):
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line.startswith("\t") or line.startswith(" "):
            parts = line.strip().split(None, 1)
            address = parts[0]
            symbol = parts[1] if len(parts) > 1 else "[unknown]"
            kernel = address.startswith("ffffffff")
            frames.append(("[kernel]" if kernel else symbol))
        # other lines: the sample's header
    if frames:
        yield frames


def short(symbol, width=110):
    symbol = re.sub(r"::h[0-9a-f]{16}$", "", symbol)
    return symbol if len(symbol) <= width else symbol[: width - 1] + "…"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--detail", action="append", default=[])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    by_owner = collections.Counter()
    detail = collections.defaultdict(collections.Counter)
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        found = None
        for symbol in frames:
            found = owner(symbol)
            if found:
                break
        name = found or "other (kernel, libc, runtime start)"
        by_owner[name] += 1
        if found in args.detail:
            leaf = frames[0]
            where = short(symbol)
            if owner(leaf) is None:
                where += "  <- " + short(leaf, 50)
            detail[found][where] += 1
    if not total:
        sys.exit("no samples on stdin")
    print(f"{total} samples")
    for name, count in by_owner.most_common():
        print(f"{100 * count / total:6.2f}%  {name}")
    for name in args.detail:
        print(f"\nunder {name} ({100 * by_owner[name] / total:.2f}% of all samples):")
        for where, count in detail[name].most_common(args.top):
            print(f"{100 * count / total:6.2f}%  {where}")


if __name__ == "__main__":
    main()

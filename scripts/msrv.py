#!/usr/bin/env python3
"""The workspace's `rust-version` against what it stands on: no dependency in the lock file's
resolved graph may declare a newer `rust-version` (a newer one would make the declared MSRV a
promise the build cannot keep). The standard library APIs the code calls are checked against
the same version by clippy's `incompatible_msrv` lint, which `.ci/run` denies; the newest
language feature used, `let` chains, needs 1.88.

Prints the newest dependency requirements; exits 1 when one exceeds the workspace's."""

import json
import re
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    manifest = open("Cargo.toml", encoding="utf-8").read()
    declared = re.search(r'^rust-version\s*=\s*"([0-9.]+)"', manifest, re.M)
    if not declared:
        sys.exit("Cargo.toml: no workspace rust-version")
    msrv = declared.group(1)
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    resolved = {node["id"] for node in metadata["resolve"]["nodes"]}
    members = set(metadata["workspace_members"])
    needs = sorted(
        (
            (version(package["rust_version"]), package["name"], package["version"])
            for package in metadata["packages"]
            if package["id"] in resolved
            and package["id"] not in members
            and package.get("rust_version")
        ),
        reverse=True,
    )
    for need, name, package_version in needs[:5]:
        print(f"{name} {package_version}: rust-version {'.'.join(map(str, need))}")
    too_new = [entry for entry in needs if entry[0] > version(msrv)]
    if too_new:
        for need, name, package_version in too_new:
            print(f"{name} {package_version} needs Rust {'.'.join(map(str, need))}, "
                  f"above the workspace's rust-version {msrv}", file=sys.stderr)
        sys.exit(1)
    print(f"rust-version {msrv}: no dependency needs more")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Mutation test of the alert rules: proves the unit tests notice when a rule changes.

Each mutation changes one thing in a copy of prometheus-alerts.yml:
  - every duration in a range selector, multiplied and divided by 10 ([5m] -> [50m], [30s]),
  - every other number (factor, threshold, quantile) multiplied and divided by 10; a 0
    becomes 1,
  - every `for:` multiplied and divided by 10,
  - every operand of an `and` / `or` / `unless` written on its own line, deleted with its
    operator (so each window pair of the burn-rate alerts, each guard, each branch of the
    SLO ratios),
  - every SLO ratio an alert reads, replaced by the ratio of the next shorter and the next
    longer window.
Then `promtool test rules` runs the alerts*.test.yml files against the copy, in a temporary
directory (the real rule file is never touched). A mutation the tests still pass "survived":
some behaviour of the rules is not pinned by any test. The script fails listing the
survivors. To keep the run short, a mutation runs only the test groups that name the mutated
rule, or a rule reading what it records: a group that names neither cannot fail because of it.
Those groups run one at a time, the ones naming the rule first and each set cheapest first,
until one fails: a mutation is killed by any one, and most die in the first. Each runs
against a copy of the mutated file that holds only the rules the group names and the
recording rules they read (promtool evaluates every rule of the file at every step); each
group is first run that way against the unmodified rules, and must pass.

A mutation that cannot change what the rules do is listed in EQUIVALENT with the reason; it
is still run, and the script also fails if the tests do tell it apart (the reason is wrong).

Usage:  python3 monitoring/mutate-rules.py [--jobs N] [--list] [--only TEXT] [--verbose]
(--list prints the mutations and the files each runs; --only runs those whose description
contains TEXT.) Needs promtool on PATH. Exit status: 0 no survivor, 1 survivors (or a wrong equivalence),
2 the setup is broken (promtool missing, the real rules fail their own tests, a mutation
makes the file invalid, a mutation could not be run).
"""

import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = "prometheus-alerts.yml"

# Mutations that cannot change behaviour, matched on their description.
EQUIVALENT = [
    (
        re.compile(r"^objective:errors_per_call:ratio_rate\w+: `0 \* sum.*\[\w+\] -> \[\w+\] \(x10\)"),
        "as for the SLO ratios: the `0 * ...` branch only supplies the 0 of an objective with "
        "no failure series, where the denominator over the unchanged window has a rate; a "
        "longer window holds those samples too. (A shorter one can miss them: the tests pin "
        "that.)",
    ),
    (
        re.compile(r"^job:slo_errors_per_request:ratio_rate\w+: `0 \* sum.*\[\w+\] -> \[\w+\] \(x10\)"),
        "the `0 * ...` branch only supplies the 0 of a job that has no 5xx series, and the "
        "ratio exists only where the denominator (the same series over the unchanged window) "
        "has a rate; a longer window holds those samples too, so it never adds or removes a "
        "sample of the result. (A shorter one can miss them: the tests pin that.)",
    ),
]

DURATION_UNITS = {"ms": Decimal("0.001"), "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", text)
    if not m:
        raise ValueError(f"unsupported duration {text!r}")
    return Decimal(m.group(1)) * DURATION_UNITS[m.group(2)]


def duration(secs):
    """Formats seconds in the largest unit that divides them (Prometheus' own style)."""
    for unit in ("d", "h", "m", "s"):
        size = Decimal(DURATION_UNITS[unit])
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    ms = secs * 1000
    if ms == ms.to_integral_value() and ms > 0:
        return f"{int(ms)}ms"
    raise ValueError(f"cannot express {secs}s as a duration")


def scaled_durations(text):
    """[(new text, tag)] for text x10 and /10; the same unit when it stays exact."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", text)
    up = f"{int(m.group(1)) * 10}{m.group(2)}"
    down = duration(seconds(text) / 10)
    return [(up, "x10"), (down, "/10")]


def number_text(d):
    return format(d.normalize(), "f")


def scaled_numbers(text):
    d = Decimal(text)
    if d == 0:
        return [("1", "0 -> 1")]
    return [(number_text(d * 10), "x10"), (number_text(d / 10), "/10")]


def mask(line):
    """The line with strings and label matchers blanked out (same length), so their
    contents (`"5.."`, `"499"`) are never mutated."""
    out = re.sub(r'"(\\.|[^"\\])*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', line)
    return re.sub(r"\{[^}]*\}", lambda m: "{" + " " * (len(m.group(0)) - 2) + "}", out)


class Rule:
    def __init__(self, name, kind):
        self.name, self.kind = name, kind
        self.expr = []  # line indexes of the expression
        self.for_line = None


def parse_rules(lines):
    """Rules in file order, with the line numbers of their expression and `for:`. The file's
    layout is regular (see prometheus-alerts.yml): `- alert:`/`- record:`, then `expr:`
    inline or as a `|` block, then `for:`."""
    rules, rule, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^\s*- (alert|record):\s*(\S+)\s*$", line)
        if m:
            rule = Rule(m.group(2), m.group(1))
            rules.append(rule)
            i += 1
            continue
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if m and rule is not None:
            indent, rest = len(m.group(1)), m.group(2)
            if rest.strip() in ("|", "|-", ">", ">-"):
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    if lines[i].strip():
                        rule.expr.append(i)
                    i += 1
                continue
            rule.expr.append(i)
            i += 1
            continue
        if re.match(r"^\s*for:\s*\S+\s*$", line) and rule is not None:
            rule.for_line = i
        i += 1
    for rule in rules:
        if not rule.expr:
            raise SystemExit(f"mutate-rules: found no expression for {rule.name}; is the layout new?")
    return rules


def mutations(text):
    """[(rule name, description, mutated text)] for every mutation of the rule file."""
    lines = text.split("\n")
    rules = parse_rules(lines)
    out = []

    def replaced(index, start, end, new):
        copy = list(lines)
        line = copy[index]
        copy[index] = line[:start] + new + line[end:]
        return "\n".join(copy)

    windows = sorted(
        {re.fullmatch(r"job:slo_errors_per_request:ratio_rate(\w+)", r.name).group(1)
         for r in rules if r.kind == "record" and r.name.startswith("job:slo_errors_per_request:ratio_rate")},
        key=seconds,
    )

    for rule in rules:
        for index in rule.expr:
            line = lines[index]
            shown = line.strip()
            masked = mask(line)
            # Range selector durations.
            for m in re.finditer(r"\[(\d+(?:ms|s|m|h|d|w|y))\]", masked):
                for new, tag in scaled_durations(m.group(1)):
                    text_new = replaced(index, m.start(1), m.end(1), new)
                    out.append((rule.name, f"{rule.name}: `{shown}`: {m.group(0)} -> [{new}] ({tag})", text_new))
            # Numbers outside identifiers, strings, label matchers and range selectors.
            blanked = re.sub(r"\[[^\]]*\]", lambda m: " " * len(m.group(0)), masked)
            for m in re.finditer(r"(?<![\w.:])(\d+(?:\.\d+)?)(?![\w.:])", blanked):
                for new, tag in scaled_numbers(m.group(1)):
                    text_new = replaced(index, m.start(1), m.end(1), new)
                    out.append((rule.name, f"{rule.name}: `{shown}`: {m.group(1)} -> {new} ({tag})", text_new))
            # Which SLO ratio an alert reads.
            if rule.kind == "alert":
                for m in re.finditer(r"job:slo_errors_per_request:ratio_rate(\w+)", masked):
                    w = windows.index(m.group(1))
                    for other in (windows[w - 1] if w > 0 else None, windows[w + 1] if w + 1 < len(windows) else None):
                        if other is None:
                            continue
                        text_new = replaced(index, m.start(1), m.end(1), other)
                        out.append((rule.name, f"{rule.name}: `{shown}`: ratio_rate{m.group(1)} -> ratio_rate{other} (other window)", text_new))
        # Operands of set operators written on their own line.
        out.extend((rule.name, d, t) for d, t in branch_deletions(rule, lines))
        if rule.for_line is not None:
            m = re.match(r"^(\s*for:\s*)(\S+)(\s*)$", lines[rule.for_line])
            for new, tag in scaled_durations(m.group(2)):
                text_new = replaced(rule.for_line, m.start(2), m.end(2), new)
                out.append((rule.name, f"{rule.name}: `for: {m.group(2)}` -> `for: {new}` ({tag})", text_new))
    # Flag descriptions used twice: they would make the report ambiguous.
    seen = set()
    for _, desc, _ in out:
        if desc in seen:
            raise SystemExit(f"mutate-rules: two mutations share the description {desc!r}")
        seen.add(desc)
    return out


def branch_deletions(rule, lines):
    """For `A <op> B` with <op> alone on its line: the rule without A (and <op>), and the rule
    without B (and <op>). An operand spans the lines on its side of the operator that are more
    indented than it, or as indented and not an operator themselves, up to the expression's
    edge or a less indented line (an enclosing parenthesis)."""
    expr = rule.expr
    out = []
    indent = {i: len(lines[i]) - len(lines[i].lstrip()) for i in expr}
    ops = [i for i in expr if lines[i].strip() in ("and", "or", "unless")]
    for op in ops:
        level = indent[op]

        def belongs(i):
            return indent[i] > level or (indent[i] == level and i not in ops)

        pos = expr.index(op)
        left = []
        for i in reversed(expr[:pos]):
            if not belongs(i):
                break
            left.insert(0, i)
        right = []
        for i in expr[pos + 1:]:
            if not belongs(i):
                break
            right.append(i)
        for side, drop in (("left", left), ("right", right)):
            gone = set(drop) | {op}
            kept = [l for n, l in enumerate(lines) if n not in gone]
            summary = " ".join(lines[i].strip() for i in drop)
            if len(summary) > 90:
                summary = summary[:87] + "..."
            out.append((f"{rule.name}: delete the {side} operand of `{lines[op].strip()}`: {summary}", "\n".join(kept)))
    return out


def readers(text):
    """{rule name: names of the rules whose output a change to it can alter}: the rule
    itself, and the rules that read a recorded series it produces, transitively."""
    lines = text.split("\n")
    rules = parse_rules(lines)
    reads = {r.name: {o.name for o in rules if o.kind == "record" and o.name != r.name
                      and mentions("\n".join(lines[i] for i in r.expr), o.name)} for r in rules}
    out = {}
    for r in rules:
        seen, todo = {r.name}, [r.name]
        while todo:
            name = todo.pop()
            for other, inputs in reads.items():
                if name in inputs and other not in seen:
                    seen.add(other)
                    todo.append(other)
        out[r.name] = seen
    return out


def dependencies(text):
    """{rule name: the names of the recording rules its output depends on, transitively,
    itself included}."""
    lines = text.split("\n")
    rules = parse_rules(lines)
    recorded = {r.name for r in rules if r.kind == "record"}
    reads = {}
    for r in rules:
        expr = "\n".join(lines[i] for i in r.expr)
        reads.setdefault(r.name, set()).update(o for o in recorded if o != r.name and mentions(expr, o))
    out = {}
    for name in reads:
        seen, todo = {name}, [name]
        while todo:
            for other in reads.get(todo.pop(), ()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        out[name] = seen
    return out


def trimmed(text, keep):
    """The rule file with only the rules named in `keep`, in their groups and order, and
    without the groups left empty: a test evaluates every rule of its file at every step, so
    a group of tests runs faster against the rules it reads."""
    lines = text.split("\n")
    preamble, groups_, rule = [], [], None
    for line in lines:
        if re.match(r"^  - name:", line):
            groups_.append([line])  # the group's header, then its rules
            rule = None
            continue
        m = re.match(r"^\s*- (?:alert|record):\s*(\S+)\s*$", line)
        if m and groups_:
            rule = [m.group(1), line]
            groups_[-1].append(rule)
            continue
        if not groups_:
            preamble.append(line)
        elif rule is None:
            groups_[-1][0] += "\n" + line
        else:
            rule.append(line)
    out = list(preamble)
    for header, *rules in groups_:
        kept = [r for r in rules if r[0] in keep]
        if kept:
            out.append(header)
            for r in kept:
                out.extend(r[1:])
    return "\n".join(out)


def groups(text):
    """A test file as (head, [group]): the text up to its `tests:` line, then each list item
    under it, comments and all, as written."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("tests:")) + 1
    head, chunks = lines[:start], []
    for line in lines[start:]:
        if line.startswith("  - ") or not chunks:
            chunks.append([line])
        else:
            chunks[-1].append(line)
    return "\n".join(head), ["\n".join(chunk) for chunk in chunks]


def uncommented(text):
    # Comments name rules too; only what promtool reads counts.
    return re.sub(r"(^|\s)#.*$", "", text, flags=re.M)


def mentions(text, name):
    return re.search(r"(?<![\w:])" + re.escape(name) + r"(?![\w:])", text) is not None


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def equivalence(desc):
    for pattern, reason in EQUIVALENT:
        if pattern.search(desc):
            return reason
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", "-j", type=int, default=int(os.environ.get("MUTATE_JOBS", "1")),
                        help="mutations tested at once (default: $MUTATE_JOBS or 1)")
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--only", action="append", default=[],
                        help="run only mutations whose description contains TEXT (repeatable)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print promtool's output for survivors")
    args = parser.parse_args()

    if shutil.which("promtool") is None:
        print("mutate-rules: promtool not found on PATH (Debian: apt-get install prometheus)", file=sys.stderr)
        return 2
    with open(os.path.join(HERE, RULES)) as f:
        original = f.read()
    tests = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HERE, "alerts*.test.yml")))
    if not tests:
        print("mutate-rules: no alerts*.test.yml next to the rules", file=sys.stderr)
        return 2

    all_mutations = mutations(original)
    selected = [(r, d, t) for r, d, t in all_mutations if not args.only or any(o in d for o in args.only)]
    # A test file can only fail because of a rule it names (an alertname, a series in an
    # expression), or a rule that reads that rule's output: the others are not run for it.
    affected = readers(original)
    test_groups = {}
    for name in tests:
        with open(os.path.join(HERE, name)) as f:
            test_groups[name] = groups(f.read())

    # What each group reads: the rules it names and the recording rules those depend on.
    rule_names = {r.name for r in parse_rules(original.split("\n"))}
    depends = dependencies(original)
    keep = {}
    for name in tests:
        for chunk in test_groups[name][1]:
            text = uncommented(chunk)
            named = {n for n in rule_names if mentions(text, n)}
            keep[(name, chunk)] = set().union(*(depends[n] for n in named)) if named else set()

    def relevant(rule):
        """[(test file, group)] that name what `rule` can change: the groups that name the
        rule itself first, then those that name only a rule reading it."""
        direct, indirect = [], []
        for name in tests:
            _, chunks = test_groups[name]
            for chunk in chunks:
                text = uncommented(chunk)
                if mentions(text, rule):
                    direct.append((name, chunk))
                elif any(mentions(text, n) for n in affected[rule]):
                    indirect.append((name, chunk))
        return direct, indirect

    def files_of(rule):
        direct, indirect = relevant(rule)
        return sorted({name for name, _ in direct + indirect})

    if args.list:
        for n, (rule, desc, _) in enumerate(selected, 1):
            note = " [equivalent]" if equivalence(desc) else ""
            print(f"{n:4} {desc}{note}  [{', '.join(files_of(rule)) or 'no test names it'}]")
        return 0

    work = tempfile.mkdtemp(prefix="mutate-rules-")
    try:
        base = os.path.join(work, "original")
        os.mkdir(base)
        for name in tests:
            shutil.copy(os.path.join(HERE, name), base)
        with open(os.path.join(base, RULES), "w") as f:
            f.write(original)
        started = time.monotonic()
        result = run(["promtool", "test", "rules", *tests], base)
        baseline = time.monotonic() - started
        if result.returncode != 0:
            print(result.stdout)
            print("mutate-rules: the unmodified rules fail their tests; fix that first", file=sys.stderr)
            return 2
        # What each group costs on its own, so that a mutation runs the cheap ones first.
        cost = {}
        alone_dir = os.path.join(work, "alone")
        os.mkdir(alone_dir)
        for name in tests:
            head, chunks = test_groups[name]
            for chunk in chunks:
                with open(os.path.join(alone_dir, "group.test.yml"), "w") as f:
                    f.write("\n".join([head, chunk]) + "\n")
                with open(os.path.join(alone_dir, RULES), "w") as f:
                    f.write(trimmed(original, keep[(name, chunk)]))
                t = time.monotonic()
                alone = run(["promtool", "test", "rules", "group.test.yml"], alone_dir)
                cost[(name, chunk)] = time.monotonic() - t
                if alone.returncode != 0:
                    # It would kill every mutation it is run for: it needs a rule it does not
                    # name, or it fails with every rule there.
                    print(alone.stdout)
                    print(f"mutate-rules: a group of {name} fails on its own with the unmodified "
                          f"rules it reads", file=sys.stderr)
                    return 2
        print(f"{len(selected)} mutations of {RULES}, tests: {', '.join(tests)} "
              f"({baseline:.1f}s a run, {args.jobs} at a time)")

        def attempt(item):
            n, (rule, desc, text) = item
            try:
                return attempt_in(n, rule, desc, text)
            except OSError as e:  # a full disk, say: not a verdict on the tests
                return n, desc, "error", str(e)

        def attempt_in(n, rule, desc, text):
            """Runs the relevant groups one at a time, the groups that name the rule before
            those that name a rule reading it, each set cheapest first, and stops at the first
            that fails: a mutation is killed by any one of them, and most die in the first."""
            d = os.path.join(work, f"m{n}")
            os.mkdir(d)
            with open(os.path.join(d, RULES), "w") as f:
                f.write(text)
            check = run(["promtool", "check", "rules", RULES], d)
            if check.returncode != 0:
                return n, desc, "invalid", check.stdout
            direct, indirect = relevant(rule)
            if not direct and not indirect:
                return n, desc, "survived", f"no test file names {rule} or a rule reading it"
            plan = sorted(direct, key=lambda g: cost[g]) + sorted(indirect, key=lambda g: cost[g])
            outputs = []
            for k, (name, chunk) in enumerate(plan):
                gd = os.path.join(d, str(k))
                os.mkdir(gd)
                with open(os.path.join(gd, name), "w") as f:
                    f.write("\n".join([test_groups[name][0], chunk]) + "\n")
                with open(os.path.join(gd, RULES), "w") as f:
                    f.write(trimmed(text, keep[(name, chunk)]))
                tested = run(["promtool", "test", "rules", name], gd)
                if tested.returncode != 0:
                    shutil.rmtree(d, ignore_errors=True)
                    return n, desc, "killed", tested.stdout
                outputs.append(tested.stdout)
            shutil.rmtree(d, ignore_errors=True)
            return n, desc, "survived", "\n".join(outputs)

        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for n, desc, outcome, output in pool.map(attempt, enumerate(selected, 1)):
                reason = equivalence(desc)
                label = {"killed": "killed", "survived": "SURVIVED", "invalid": "INVALID", "error": "ERROR"}[outcome]
                if reason and outcome == "survived":
                    label = "equivalent"
                elif reason and outcome == "killed":
                    label = "KILLED BUT LISTED EQUIVALENT"
                print(f"{n:4} {label:<10} {desc}", flush=True)
                results.append((n, desc, outcome, output, reason))
        elapsed = time.monotonic() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)

    invalid = [r for r in results if r[2] == "invalid"]
    errors = [r for r in results if r[2] == "error"]
    survivors = [r for r in results if r[2] == "survived" and not r[4]]
    equivalent = [r for r in results if r[2] == "survived" and r[4]]
    wrong = [r for r in results if r[2] == "killed" and r[4]]
    killed = [r for r in results if r[2] == "killed" and not r[4]]

    print(f"\n{len(results)} mutations: {len(killed)} killed, {len(survivors)} survived, "
          f"{len(equivalent)} equivalent, {len(invalid)} invalid, {len(errors)} not run ({elapsed:.0f}s)")
    for reason in dict.fromkeys(r[4] for r in equivalent):
        print("\nequivalent (cannot change behaviour), because " + reason)
        for n, desc, _, _, why in equivalent:
            if why == reason:
                print(f"  {n}: {desc}")
    status = 0
    if invalid:
        print("\nmutations that promtool rejects (the mutation generator needs fixing):", file=sys.stderr)
        for n, desc, _, output, _ in invalid:
            print(f"  {n}: {desc}\n{output}", file=sys.stderr)
        status = 2
    if errors:
        print("\nmutations that could not be run (nothing is known about them):", file=sys.stderr)
        for n, desc, _, output, _ in errors:
            print(f"  {n}: {desc}: {output}", file=sys.stderr)
        status = 2
    if wrong:
        print("\nlisted as equivalent, yet the tests tell them apart (correct EQUIVALENT):", file=sys.stderr)
        for n, desc, _, _, _ in wrong:
            print(f"  {n}: {desc}", file=sys.stderr)
        status = status or 1
    if survivors:
        print("\nsurvivors: the tests pass with these changes to the rules:", file=sys.stderr)
        for n, desc, _, output, _ in survivors:
            print(f"  {n}: {desc}", file=sys.stderr)
            if args.verbose:
                print(output, file=sys.stderr)
        status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())

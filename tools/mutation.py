"""Mutation testing of the money, wire and consensus logic: `make mutation` (not part of `make test`).

Line coverage says a line ran; a mutant says whether a test would notice that line being wrong. Each group below is
mutated by mutmut in its own scratch copy of the tree (`.mutation/<group>/`) and tested against its own fast tests
only, so one group's score never leans on another module's tests and the whole run fits ~15 minutes on 2 cores.

A survivor is then one of: a gap in the tests (fix it), a mutant that only changes the text of a message (counted
apart: no user relies on the exact wording), or a mutant that cannot change behaviour. The last kind is listed in
tests/mutation/equivalent.txt, one line each: `<function> <hash of the mutated lines> <reason>`. The hash, not
mutmut's mutant number, names the mutant, so the list survives edits elsewhere in the function; an entry that no
longer matches any survivor is reported as stale.

Usage: python tools/mutation.py [GROUP ...] [--show]   (--show prints the diff of every counted survivor)
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.txt"
GOAL = 95.0


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    data: tuple[str, ...] = ()
    """Folders the tests read (copied next to the mutated tree)."""
    functions: tuple[str, ...] = ()
    """When set, only these functions' mutants run and count (mutmut names: `module.x_function`,
    `module.xǁClassǁmethod`): for modules whose tests are too slow to run every mutant in the time budget."""

    def patterns(self) -> list[str]:
        return [f"{function}__mutmut_*" for function in self.functions]

    def selected(self, mutant: str) -> bool:
        return not self.functions or any(fnmatch.fnmatchcase(mutant, p) for p in self.patterns())


GROUPS = (
    Group(
        "envelope",
        ("ecco/services/envelope.py",),
        ("tests/transport/test_envelope.py", "tests/transport/test_inbound_guard_rules.py"),
    ),
    Group(
        "consensus",
        ("ecco/services/consensus/aggregation.py",),
        (
            "tests/unit/test_consensus_aggregation.py",
            "tests/unit/test_consensus_receipt.py",
            "tests/unit/test_consensus_flow.py",
            "tests/unit/test_consensus_strategies.py",
            "tests/unit/test_consensus_decide_early.py",
        ),
    ),
    Group(
        "amounts",
        ("ecco/services/payments/amounts.py", "ecco/services/payments/invoices.py"),
        ("tests/unit/test_payment_amounts.py", "tests/unit/test_payment_settle.py", "tests/unit/test_invoice_rules.py"),
        ("contracts",),
    ),
    Group(
        "settle",
        ("ecco/services/payments/agreements.py", "ecco/services/payments/service.py"),
        ("tests/unit/test_payment_agreements.py", "tests/unit/test_payment_settle.py"),
        ("contracts",),
        # 1,809 mutants against tests that run a chain (0.3-2 s each) would take an hour: only the functions that
        # decide how much moves and whether a payment counts as proven
        (
            "ecco.services.payments.agreements.x_split",
            "ecco.services.payments.agreements.x_check_transition",
            "ecco.services.payments.agreements.xǁAgreementsǁrelease",
            "ecco.services.payments.service.xǁPaymentsǁ_settle_group",
            "ecco.services.payments.service.xǁPaymentsǁ_verify_proof",
        ),
    ),
    Group(
        "matching",
        ("ecco/services/discovery/matching.py",),
        ("tests/unit/test_matching.py", "tests/unit/test_matching_ranking.py"),
    ),
    Group(
        "scoring",
        ("ecco/services/discovery/bloom.py", "ecco/services/discovery/reputation.py"),
        ("tests/unit/test_bloom.py", "tests/unit/test_reputation.py", "tests/unit/test_reputation_book.py"),
    ),
)

# mutmut's own exit codes (mutmut.stats.status_by_exit_code): 1 and 3 a failing test, 36 and the SIGXCPU codes a
# mutant that made the tests hang (the tests noticed: counted as killed). Anything else counts against the score:
# 0 survived, 5/33 no test reached it, None never checked (mutmut stopped early).
KILLED = {1, 3, 36, -24, 24, 152, 255, -9, -11}
STRING = re.compile(r"""[rbuRBUfF]{0,2}("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""")


@dataclass
class Row:
    module: str
    mutants: int = 0
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    equivalent: int = 0
    text_only: int = 0

    @property
    def counted(self) -> int:
        return self.mutants - self.equivalent - self.text_only

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 100.0


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    old = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    new = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return old, new


def mutant_key(mutant: str, diff: str) -> str:
    """`<function> <hash>`: the function without mutmut's number, and a hash of what the mutant changed."""
    old, new = changed_lines(diff)
    digest = hashlib.sha1("\n".join([*map(str.strip, old), "=>", *map(str.strip, new)]).encode()).hexdigest()[:10]
    return f"{mutant.rsplit('__mutmut_', 1)[0]} {digest}"


def _common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def only_message_text(diff: str) -> bool:
    """True when the mutant only rewrites a string literal that is prose (has a space): XX-wrapped, re-cased, None."""
    old, new = changed_lines(diff)
    if not old or len(old) != len(new):
        return False
    for before, after in zip(old, new, strict=True):
        if before == after:
            continue
        prefix = _common_prefix(before, after)
        suffix = _common_prefix(before[prefix:][::-1], after[prefix:][::-1])
        start, end = prefix, len(before) - suffix
        literals = (m for m in STRING.finditer(before) if " " in m.group(1))
        if not any(m.start() <= start and end <= m.end() for m in literals):
            return False
    return True


def load_equivalent() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else []:
        if line.strip() and not line.startswith("#"):
            function, digest, reason = line.split(maxsplit=2)
            entries[f"{function} {digest}"] = reason
    return entries


def prepare(group: Group) -> Path:
    """A scratch tree with the package, the group's tests and a pyproject that tells mutmut what to do."""
    work = WORK / group.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    shutil.copytree(ROOT / "ecco", work / "ecco", ignore=ignore)
    # the whole tests folder (test modules import each other's helpers); only the group's tests run
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    # mutmut traces every call, which makes hypothesis' 200 ms deadline flaky; fixed examples keep runs comparable
    with (work / "tests" / "conftest.py").open("a") as conftest:  # appended: the suite may grow one of its own
        conftest.write(
            "\nfrom hypothesis import settings\n\n"
            'settings.register_profile("mutation", deadline=None, derandomize=True)\n'
            'settings.load_profile("mutation")\n'
        )
    tests = [t for t in group.tests if (ROOT / t).exists()]
    for data in group.data:
        shutil.copytree(ROOT / data, work / data, ignore=ignore)
    pytest_options = (ROOT / "pyproject.toml").read_text().split("[tool.pytest.ini_options]", 1)[1]
    # The store tests also run on PostgreSQL (tests/conftest.py `backend`); a mutant of a service is killed or not
    # the same way on either store, so mutation runs them on SQLite only (no server per mutmut run).
    quoted = ", ".join(json.dumps(x) for x in [*tests, "-p", "no:cacheprovider", "-k", "not postgresql"])
    (work / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["ecco"]\n'
        f"only_mutate = [{', '.join(json.dumps(m) for m in group.modules)}]\n"
        f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        f"also_copy = [{', '.join(json.dumps(d) for d in group.data)}]\n"
        "use_git_change_detection = false\n"
        "\n[tool.pytest.ini_options]" + pytest_options
    )
    return work


def run(group: Group, children: int) -> int:
    work = prepare(group)
    log = work / "mutmut.log"
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *group.patterns()],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    print(f"{group.name}: mutmut exited {code} in {time.monotonic() - started:.0f} s (log: {log})", file=sys.stderr)
    return code


def survivors_with_diffs(group: Group) -> dict[str, dict[str, str | int]]:
    """{module: {mutant: exit code, and '<mutant>:diff' for each survivor}}, read with mutmut's own helpers."""
    script = (
        "import json, sys\n"
        "from mutmut.mutation.data import SourceFileMutationData\n"
        "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    m = SourceFileMutationData(path=path)\n"
        "    m.load()\n"
        "    row = out[path] = dict(m.exit_code_by_key)\n"
        f"    for name, code in list(row.items()):\n"
        f"        if code not in {sorted(KILLED)}:\n"
        "            row[name + ':diff'] = get_diff_for_mutant(name, path=path)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *group.modules],
        cwd=WORK / group.name,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(groups: list[Group], show: bool) -> bool:
    equivalent = load_equivalent()
    used: set[str] = set()
    rows: list[Row] = []
    for group in groups:
        for module, codes in survivors_with_diffs(group).items():
            row = Row(module.removeprefix("ecco/services/"))
            for name, code in codes.items():
                if name.endswith(":diff") or not group.selected(name):
                    continue
                row.mutants += 1
                if code in KILLED:
                    row.killed += 1
                    continue
                diff = str(codes.get(name + ":diff", ""))
                key = mutant_key(name, diff)
                if key in equivalent:
                    row.equivalent += 1
                    used.add(key)
                elif only_message_text(diff):
                    row.text_only += 1
                else:
                    row.survived.append(f"{key}  ({name}, exit {code})\n{diff}")
            rows.append(row)
    header = f"{'module':<28} {'mutants':>7} {'killed':>6} {'survived':>8} {'equivalent':>10} {'text':>5} {'score':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.module:<28} {row.mutants:>7} {row.killed:>6} {len(row.survived):>8} {row.equivalent:>10} "
            f"{row.text_only:>5} {row.score:>6.1f}%"
        )
    print(
        "score = killed / (mutants - equivalent - text), 'text': survivors that only change a message's wording; "
        f"goal {GOAL:.0f}%"
    )
    if show:
        for row in rows:
            for survivor in row.survived:
                print(f"\n### {row.module}: {survivor}")
    modules = {m.removesuffix(".py").replace("/", ".") for g in groups for m in g.modules}
    stale = [k for k in equivalent if k not in used and any(k.startswith(f"{m}.") for m in modules)]
    for key in stale:
        print(f"stale entry in {EQUIVALENT.relative_to(ROOT)} (no such survivor): {key}", file=sys.stderr)
    return all(row.score >= GOAL for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help=f"any of: {', '.join(g.name for g in GROUPS)} (default: all)")
    parser.add_argument("--show", action="store_true", help="print the diff of every counted survivor")
    parser.add_argument("--report-only", action="store_true", help="report the last run without running mutmut")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    unknown = set(args.groups) - {g.name for g in GROUPS}
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    groups = [g for g in GROUPS if not args.groups or g.name in args.groups]
    failed = [] if args.report_only else [g.name for g in groups if run(g, args.children) != 0]
    met = report(groups, args.show)
    if failed:
        print(f"mutmut failed for: {', '.join(failed)} (see .mutation/<group>/mutmut.log)", file=sys.stderr)
    return 0 if met and not failed else 1


if __name__ == "__main__":
    sys.exit(main())

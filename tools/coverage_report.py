"""What no test reaches: the summary `make coverage` prints after the suite ran under coverage.

The data files come from the pytest process and from every daemon and CLI subprocess the integration tests start
(see [tool.coverage.run] in pyproject.toml). This combines them, then prints the total, one row per package, and
the modules that leave the most lines unreached with those lines, so the gaps are named rather than averaged away.

Usage: python tools/coverage_report.py [--top N]
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import defaultdict
from pathlib import Path

import coverage
from coverage.exceptions import NoDataError

ROOT = Path(__file__).resolve().parent.parent


def ranges(lines: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    spans: list[list[int]] = []
    for line in sorted(lines):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=15, help="how many modules to name with their unreached lines")
    args = parser.parse_args()
    cov = coverage.Coverage(config_file=str(ROOT / "pyproject.toml"))
    cov.combine(keep=False)
    cov.save()
    rows: list[tuple[str, int, int, list[int]]] = []
    for path in sorted(Path(ROOT / "ecco").rglob("*.py")):
        if "ecco/v1" in path.as_posix():
            continue
        try:
            _, statements, _, missing, _ = cov.analysis2(str(path))
        except NoDataError:
            break
        except coverage.CoverageException:
            continue
        if statements:
            rows.append((path.relative_to(ROOT).as_posix(), len(statements), len(missing), missing))
    if not rows:
        print("no coverage data: run `make coverage`", file=sys.stderr)
        return 1
    by_package: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for name, statements, missed, _ in rows:
        package = "/".join(name.split("/")[:2]) if name.count("/") > 1 else name
        by_package[package][0] += statements
        by_package[package][1] += missed
    total_statements = sum(r[1] for r in rows)
    total_missed = sum(r[2] for r in rows)
    print(f"{'package':<32} {'lines':>6} {'unreached':>9} {'covered':>8}")
    print("-" * 58)
    for package, (statements, missed) in sorted(by_package.items(), key=lambda kv: -kv[1][1]):
        print(f"{package:<32} {statements:>6} {missed:>9} {100 * (statements - missed) / statements:>7.1f}%")
    print("-" * 58)
    covered = 100 * (total_statements - total_missed) / total_statements
    print(f"{'total (lines)':<32} {total_statements:>6} {total_missed:>9} {covered:>7.1f}%")
    branches = cov.report(file=io.StringIO())  # the total with branches; coverage's own table is not printed
    print(f"{'total (lines and branches)':<32} {'':>6} {'':>9} {branches:>7.1f}%")
    print(f"\nWhat no test reaches: the {args.top} modules with the most unreached lines")
    for name, statements, missed, missing in sorted(rows, key=lambda r: -r[2])[: args.top]:
        listed = ranges(missing)
        print(f"  {name} ({missed}/{statements} unreached): {listed[:200]}{' ...' if len(listed) > 200 else ''}")
    never = [name for name, statements, missed, _ in rows if missed == statements]
    if never:
        print(f"\nNever imported by any test or subprocess: {', '.join(never)}")
    print("\nline by line: .venv/bin/python -m coverage html  (writes htmlcov/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

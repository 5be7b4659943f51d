"""Mutation score per package with mutmut: `python benchmarks/mutation.py [domain] [adapter] [cli] [-j N]`.

A habit, not CI (a package takes minutes to an hour on two cores). For each package asked for, the project is
copied to a temporary directory, mutmut (`pip install -e '.[mutation]'`) is told there which files to mutate
and which tests to run (the fast tests that exercise that package, in-process: mutmut cannot see into
subprocesses), and the score is printed: killed / (killed + survived + timeout + no tests), with the survivors
named so they can be read with `mutmut show NAME` in the kept directory (--keep) and either killed by a new
test or listed in benchmarks/README.md as equivalent. Goals (issue 21): at least 90% in domain and adapter,
80% in cli.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What is mutated (mutmut's only_mutate globs) and which tests judge it, per package.
PACKAGES: dict[str, tuple[list[str], list[str]]] = {
    "domain": (["vmssroll/domain/*"], ["tests/domain", "tests/ui"]),
    # The adapter's own tests and the emulator-backed tests aimed at it (faults, server answers, the network,
    # Retry-After, slow writes, partial reads, the write commands); not every cli test, which would make its
    # stats run (every selected test once, under coverage) take most of an hour on two shared cores.
    "adapter": (
        ["vmssroll/adapter/*"],
        [
            "tests/adapter",
            "tests/reliability/test_faults.py",
            "tests/reliability/test_server_answers.py",
            "tests/reliability/test_auth.py",
            "tests/reliability/test_network.py",
            "tests/reliability/test_retry_after_date.py",
            "tests/cli/test_slow_writes.py",
            "tests/cli/test_partial_reads.py",
            "tests/cli/test_start_operation.py",
            "tests/cli/test_upgrade_writes.py",
            "tests/cli/test_parallel_reads.py",
            "tests/cli/test_orchestrate.py",
            "tests/cli/test_fleet.py",
            "tests/reliability/test_secrets.py",
            "tests/reliability/test_concurrency.py",
        ],
    ),
    # The write paths: policy set, enable/disable-rolling, set-image, cancel/restart/start, rollout (with
    # resume, undo and --orchestrate), fleet rollout, shared write steps. mutmut 3 leaves decorated functions
    # alone: the workspace's copy of these files has each Typer command split into a decorated shim and an
    # undecorated body that mutmut mutates (`undecorate`).
    "cli": (
        [
            "vmssroll/cli/policy.py",
            "vmssroll/cli/progressive.py",
            "vmssroll/cli/policy_change.py",
            "vmssroll/cli/image.py",
            "vmssroll/cli/prereq.py",
            "vmssroll/cli/upgrades.py",
            "vmssroll/cli/writes.py",
            "vmssroll/cli/rollout_command.py",
            "vmssroll/cli/rollout_record.py",
            "vmssroll/cli/resuming.py",
            "vmssroll/cli/orchestrate.py",
            "vmssroll/cli/fleet_rollout.py",
        ],
        [
            "tests/cli/test_upgrades.py",
            "tests/cli/test_prereq.py",
            "tests/cli/test_policy.py",
            "tests/cli/test_image.py",
            "tests/cli/test_consequence.py",
            "tests/cli/test_os_upgrade_image.py",
            "tests/cli/test_start_operation.py",
            "tests/cli/test_slow_writes.py",
            "tests/cli/test_rollout.py",
            "tests/cli/test_rollout_input.py",
            "tests/cli/test_upgrade_writes.py",
            "tests/reliability/test_faults.py",
            "tests/cli/test_orchestrate.py",
            "tests/cli/test_fleet_rollout.py",
        ],
    ),
}
# The commands that write (their bodies are mutated in cli's workspace; the read commands stay decorated).
WRITE_COMMANDS = {"set", "set-image", "enable-rolling", "disable-rolling", "cancel", "restart", "start"}
WRITE_COMMANDS |= {"rollout", "resume", "undo"}
COUNTED = ("killed", "survived", "timeout", "no tests")


def foreground() -> None:
    """mutmut's SIGINT as in a foreground process: a run started in the background by a non-interactive shell
    inherits SIGINT ignored, and so would every child a test sends Ctrl-C (Python then installs no
    KeyboardInterrupt handler), which then waits out its timeout instead of ending."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def status(exit_code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return str(status_by_exit_code[exit_code])


def undecorate(source: str) -> str:
    """Each `@command(app, NAME)`-decorated function of WRITE_COMMANDS split in two, so that mutmut (which
    skips decorated functions) mutates the command's body: the decorated function keeps its name, signature
    and docstring and calls `NAME__mutable(**locals())`, an undecorated copy of the original. Only in the
    workspace's copy."""
    lines = source.splitlines(keepends=True)
    commands = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Name)
            and d.func.id == "command"
            and any(isinstance(a, ast.Constant) and a.value in WRITE_COMMANDS for a in d.args)
            for d in node.decorator_list
        )
    ]
    for node in reversed(commands):  # bottom-up: the line numbers above stay right
        first = node.body[0]
        has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        header = lines[node.lineno - 1 : first.lineno - 1]
        doc = lines[first.lineno - 1 : first.end_lineno] if has_doc and first.end_lineno else []
        shim = [*header, *doc, f"    return {node.name}__mutable(**locals())\n", "\n\n"]
        body = [header[0].replace(f"def {node.name}(", f"def {node.name}__mutable(", 1), *header[1:]]
        end = node.end_lineno or node.lineno
        lines[node.lineno - 1 : end] = [*shim, *body, *lines[first.lineno - 1 : end]]
    return "".join(lines)


def workspace(package: str, tests_at: str | None = None) -> Path:
    """A copy of the project with a [tool.mutmut] section for `package` (mutmut reads ./pyproject.toml); with
    `tests_at`, the tests as they were at that git revision (the score before new tests, same code)."""
    only, tests = PACKAGES[package]
    where = Path(tempfile.mkdtemp(prefix=f"vmssroll-mutation-{package}-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")
    for name in ("vmssroll", "tests", "examples"):  # (tests read examples/, e.g. the fleet file)
        if name == "tests" and tests_at:
            archive = subprocess.run(
                ["git", "archive", tests_at, "tests"], cwd=ROOT, capture_output=True, check=True
            )
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(where, filter="data")
            continue
        shutil.copytree(ROOT / name, where / name, ignore=ignore)
    if package == "cli":
        for path in only:
            (where / path).write_text(undecorate((where / path).read_text()))
    config = {
        "source_paths": ["vmssroll"],
        "only_mutate": only,
        "also_copy": ["examples"],  # into mutmut's own copy, beside tests/
        # (only the paths there: --tests-at an older revision may predate some)
        "pytest_add_cli_args_test_selection": [t for t in tests if (where / t).exists()],
        # one process per mutant; random order and xdist would only add noise. Test ids unescaped: mutmut runs
        # pytest several times in one process, and from the second session on pytest escapes a parametrize
        # id list again (`a → b` becomes `a \\u2192 b`, then not found: exit 4), so a mutant judged by such a
        # test was "suspicious" (not counted) and a run naming mutants stopped at its clean test run.
        # mutmut's wall-clock limit per mutant is (the tests' time + this) x 15: at the default 1 s, a
        # mutant on a machine at load 15 (a niced run gets a few % of a core) timed out while its tests
        # merely waited for a CPU. The per-test --timeout (wall-clock too) is as generous, so that no test
        # fails for the load and counts as a kill; a mutant looping on the simulated clock fails at once.
        "timeout_constant": 60,
        "pytest_add_cli_args": [
            *("-p", "no:randomly", "-p", "no:xdist", "-x", "--timeout=900", "-o"),
            "disable_test_id_escaping_and_forfeit_all_rights_to_community_support=true",
        ],
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    pyproject = (ROOT / "pyproject.toml").read_text() + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n"
    (where / "pyproject.toml").write_text(pyproject)
    return where


def results(where: Path) -> dict[str, str]:
    """Every mutant's status, from the .meta files mutmut leaves beside the mutated sources."""
    found: dict[str, str] = {}
    for meta in sorted((where / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        for name, code in (data.get("exit_code_by_key") or {}).items():
            found[name] = status(code)
    return found


def module_of(mutant: str) -> str:
    """`vmssroll.domain.watch.xǁPacerǁhold__mutmut_3` → `vmssroll.domain.watch`."""
    match = re.match(r"(.*?)\.x[_ǁ]", mutant)
    return match.group(1) if match else mutant


def score(counts: Counter[str]) -> float | None:
    judged = sum(counts[s] for s in COUNTED)
    return round(100.0 * counts["killed"] / judged, 1) if judged else None


def refresh_tests(where: Path, skip: Sequence[str] = ()) -> None:
    """The project's current tests into a kept workspace (and mutmut's copy of it, which it never refreshes);
    mutmut finds the new ones and records which functions they call before it runs a mutant. `skip` names
    tests (`path::name`) of code changed since the workspace was made: they would fail on its older code (and
    stop mutmut at its clean run), so they are marked skipped there. (Deselecting them in the pytest
    arguments instead would change mutmut's configuration, and mutmut then forgets every result.)"""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for target in (where / "tests", where / "mutants" / "tests"):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "tests", target, ignore=ignore)
        for node in skip:
            path, _, name = node.partition("::")
            source = (target.parent / path).read_text()
            marked, found = re.subn(
                rf"^(def {re.escape(name)}\()",
                '@__import__("pytest").mark.skip(reason="tests code newer than the workspace")\n\\1',
                source,
                flags=re.M,
            )
            if found != 1:
                raise SystemExit(f"--skip {node}: no such test")
            (target.parent / path).write_text(marked)


def chosen(
    where: Path, mutmut: list[str], env: dict[str, str], only: list[str], sample: int | None, seed: int
):
    """The mutants to count: all of them (matching --only), or a seeded uniform sample of them. A workspace
    without mutants yet gets them (and mutmut's stats) from a run that matches no mutant."""
    if not (where / "mutants" / "mutmut-stats.json").exists():
        subprocess.run(
            [*mutmut, "no-mutant-has-this-name"],
            cwd=where,
            env=env,
            capture_output=True,
            preexec_fn=foreground,
        )
    population = sorted(n for n in results(where) if not only or any(fnmatch.fnmatch(n, g) for g in only))
    if sample is None or sample >= len(population):
        return population
    return sorted(random.Random(seed).sample(population, sample))


def run(
    package: str,
    jobs: int,
    keep: bool,
    only: list[str],
    *,
    sample: int | None = None,
    seed: int = 21,
    reuse: Path | None = None,
    retest: bool = False,
    tests_at: str | None = None,
    as_is: bool = False,
    skip: list[str] | None = None,
) -> dict[str, object]:
    where = reuse or workspace(package, tests_at)
    if retest and not as_is:
        refresh_tests(where, skip or [])
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    mutmut = [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)]
    names = only
    counted: list[str] | None = None
    if sample is not None or reuse is not None:
        counted = chosen(where, mutmut, env, only, sample, seed)
        before = results(where)
        # a kept workspace: judge what is not judged yet; with --retest also re-judge what the tests did not
        # kill before (a new test never revives a killed mutant, so those stay killed)
        names = [n for n in counted if before[n] == "not checked" or (retest and before[n] != "killed")]
    done = (
        subprocess.run(
            [*mutmut, *names], cwd=where, env=env, capture_output=True, text=True, preexec_fn=foreground
        )
        if names or counted is None
        else subprocess.CompletedProcess([], 0, "", "")
    )
    found = results(where)
    if counted is not None:
        found = {n: found[n] for n in counted}
    counts = Counter(found.values())
    by_module: dict[str, Counter[str]] = {}
    for name, state in found.items():
        by_module.setdefault(module_of(name), Counter())[state] += 1
    report: dict[str, object] = {
        "package": package,
        "mutants": len(found),
        "sample": None if sample is None else {"size": len(found), "seed": seed, "of": len(results(where))},
        "counts": dict(counts),
        "score": score(counts) or 0.0,
        # per module, only those with judged mutants (not those left "not checked" by --only)
        "modules": {
            module: {"score": score(c), "counts": dict(c)}
            for module, c in sorted(by_module.items())
            if score(c) is not None
        },
        "seconds": round(time.monotonic() - started),
        "survivors": sorted(n for n, s in found.items() if s in COUNTED and s != "killed"),
        "workspace": str(where) if keep else None,
    }
    if not sum(counts[s] for s in COUNTED):  # nothing judged: say why (mutmut's own words)
        report["error"] = (done.stdout + done.stderr)[-3000:]
    if not keep:
        shutil.rmtree(where, ignore_errors=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", metavar="PACKAGE", help=f"among {', '.join(PACKAGES)} (all)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the workspace (for `mutmut show NAME`)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="GLOB",
        help="only the mutants whose name matches, e.g. 'vmssroll.domain.upgrade.*' (repeatable)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="count a seeded uniform sample of N mutants (a whole package "
        "takes hours on two shared cores; a sample of a few hundred gives its score within a few points)",
    )
    parser.add_argument("--seed", type=int, default=21, help="the sample's seed (default 21)")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="reuse a workspace kept by --keep: its mutants, stats and results (one "
        "package); judges only the mutants not judged yet",
    )
    parser.add_argument(
        "--retest",
        action="store_true",
        help="with --workspace: copy the project's current tests in first and "
        "judge again every counted mutant they did not kill (the score after new tests, on the same mutants)",
    )
    parser.add_argument(
        "--tests-at",
        metavar="REV",
        help="a new workspace gets the tests as they were at this git revision "
        "(e.g. the score before a branch's tests: --tests-at main --keep, then --workspace DIR --retest)",
    )
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="with --retest: the workspace's tests as they are (put there by "
        "hand, e.g. the current tests without those of code newer than the workspace's)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="PATH::TEST",
        help="with --retest: a test of code changed since the workspace was made, skipped there (repeatable)",
    )
    args = parser.parse_args()
    if args.retest and not args.workspace:
        parser.error("--retest needs --workspace")
    if args.workspace and len(args.packages) != 1:
        parser.error("--workspace needs exactly one package (the one it was kept for)")
    unknown = sorted(set(args.packages) - set(PACKAGES))
    if unknown:
        parser.error(f"unknown package(s): {', '.join(unknown)}")
    reports = []
    for package in args.packages or list(PACKAGES):
        report = run(
            package,
            args.jobs,
            args.keep or bool(args.workspace),
            args.only,
            sample=args.sample,
            seed=args.seed,
            reuse=args.workspace,
            retest=args.retest,
            tests_at=args.tests_at,
            as_is=args.as_is,
            skip=args.skip,
        )
        reports.append(report)
        counts = report["counts"]
        sampled = report["sample"]
        of = f" of {sampled['of']}, seed {sampled['seed']}" if sampled else ""  # type: ignore[index]
        print(
            f"{package:8} {report['score']:5.1f}% killed  ({report['mutants']} mutants{of}: "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))  # type: ignore[attr-defined]
            + f"; {report['seconds']} s)"
        )
        for module, figures in report["modules"].items():  # type: ignore[attr-defined]
            judged = ", ".join(f"{n} {s}" for s, n in sorted(figures["counts"].items()) if s in COUNTED)
            print(f"    {module:40} {figures['score']:5.1f}%  ({judged})")
        for name in report["survivors"]:  # type: ignore[attr-defined]
            print(f"    {name}")
        if "error" in report:
            print(report["error"])
        if report["workspace"]:
            print(f"    kept: {report['workspace']}  (cd there; python -m mutmut show NAME)")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Help reads well: whole one-line summaries, named placeholders, bare groups print their help, the README
lists every flag, and the text wraps at the terminal's width."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vmssroll.cli.app import app

README = (Path(__file__).parents[2] / "README.md").read_text()


def leaves(group=None, prefix=()):
    group = group or typer.main.get_command(app)
    for name, sub in group.commands.items():
        if hasattr(sub, "commands"):
            yield from leaves(sub, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = sorted(leaves())


def help_of(*words: str, columns: int = 100) -> str:
    """Help as a terminal of that width shows it (a subprocess: CliRunner pins click's width to 80)."""
    proc = subprocess.run(
        [sys.executable, "-m", "vmssroll", *words, "--help"],
        env={**os.environ, "COLUMNS": str(columns)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("group", [(), ("policy",), ("emulator",)], ids=["root", "policy", "emulator"])
def test_command_lists_show_whole_summaries(group):
    text = help_of(*group, columns=400)
    listed = text.split("Commands:\n", 1)[1]
    assert "..." not in listed, listed
    if group == ():
        assert (
            "Predict the batches of a rolling upgrade under the stored policy, or the one the flags" in listed
        )


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_placeholders_are_named_not_types(words):
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert not re.search(r"<(str|int|float|int range|float range|path|text|integer)>", text), text


def test_the_placeholders_say_what_goes_there():
    assert re.search(r"--max-batch-instance-percent PERCENT", help_of("policy", "set"))
    assert re.search(r"--pause-time-between-batches DURATION", help_of("policy", "set"))
    assert re.search(r"--timeout DURATION", help_of("wait"))
    assert re.search(r"--ids? ID", help_of("status"))


@pytest.mark.parametrize("group", [(), ("policy",), ("emulator",)], ids=["root", "policy", "emulator"])
def test_a_group_without_a_subcommand_prints_its_help_and_exits_0(group):
    result = CliRunner().invoke(app, list(group))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: vmssroll") and "Commands:" in result.output


def test_policy_export_says_it_writes_to_stdout():
    assert "stdout" in help_of("policy", "export")


def test_the_readme_lists_every_policy_flag():
    flags = set(re.findall(r"--[a-z][a-z-]+", help_of("policy", "set", columns=400)))
    flags -= {
        "--help",
        "--resource-group",
        "--name",
        "--id",
        "--ids",
        "--subscription",
        "--cloud",
        "--endpoint",
    }
    flags -= {"--ca-bundle", "--output", "--verbose", "--debug", "--dry-run", "--yes"}
    section = README.split("### The policy", 1)[1].split("###", 1)[0]
    named = {  # a pair --x/--no-x is written --[no-]x; a lone --no-x (--no-wait) as it is
        f.replace("--no-", "--[no-]") if f.startswith("--no-") and f"--{f[5:]}" in flags else f for f in flags
    }
    missing = sorted(f for f in named if f not in section and f.replace("--", "--[no-]") not in section)
    assert not missing, missing


def test_help_wraps_at_the_terminal_width():
    wide = help_of("status", columns=160)
    assert max(len(line) for line in wide.splitlines()) > 80  # click alone would stop at 80
    narrow = help_of("status", columns=60)
    assert max(len(line) for line in narrow.splitlines()) <= 60

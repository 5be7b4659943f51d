"""Tables off a terminal: a header on every column, no trailing spaces (they end up in files and diffs)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import target


@pytest.mark.parametrize(
    ("args", "header"),
    [
        (("check",), r"^status\s+rule\s+finding$"),
        (("policy", "show"), r"^rolling upgrade policy\s+value\s+source$"),
        (
            ("policy", "set", "--max-batch-instance-percent", "40", "--dry-run"),
            r"^severity\s+field\s+finding",
        ),
    ],
    ids=["check", "policy-show", "findings"],
)
def test_every_column_has_a_header_and_no_line_ends_in_a_space(vmssroll, emu, args, header):
    result = vmssroll(args[0], *args[1:], *target())
    assert result.exit_code in (0, 3), result.output
    for stream in (result.stdout, result.stderr):
        assert not [line for line in stream.splitlines() if line != line.rstrip()], stream
    assert re.search(header, result.output, re.M), result.output

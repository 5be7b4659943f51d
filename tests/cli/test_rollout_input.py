"""`vmssroll rollout`'s options, all checked before any request: each bad one is one `error:` line, exit 2,
and nothing is sent (not even a read)."""

from __future__ import annotations

import pytest

from tests.helpers import target

BAD = [
    ((), "error: give exactly one of --image-version, --image-id, --os or --extensions"),
    (("--os", "--extensions"), "error: give exactly one of --image-version, --image-id, --os or --extensions"),
    (("--image-version", "2.0.0", "--os"),
     "error: give exactly one of --image-version, --image-id, --os or --extensions"),
    (("--image-version", "2.0.0", "--image-id", "/x"), "error: give exactly one of --image-version or --image-id"),
    (("--image-version", "2.0.0 beta"), "error: --image-version '2.0.0 beta' is not an image version"),
    (("--os", "--gate", "  "), "error: --gate '  ' is not a shell command line"),
    (("--os", "--gate", "curl x\x1b[2J"), "error: --gate 'curl x\\x1b[2J' is not a shell command line"),
    (("--os", "--gate", "true", "--gate-failures", "0"), "error: --gate-failures 0: give 1 or more"),
    (("--os", "--on-failure", "undo"),
     "error: --on-failure undo needs an image rollout (--image-version or --image-id): an OS or extension "
     "upgrade leaves no previous model value to put back"),
    (("--extensions", "--on-failure", "undo"), "error: --on-failure undo needs an image rollout"),
    (("--os", "--checkpoint", "100%"),
     "error: --checkpoint '100%' is not a percentage from 1% to 99% (e.g. 10%)"),
    (("--os", "--bake", "soon"), "error: --bake"),
    (("--os", "--gate-interval", "often"), "error: --gate-interval"),
    (("--os", "--gate-timeout", "x"), "error: --gate-timeout"),
    (("--os", "--auto-resume-after", "x"), "error: --auto-resume-after"),
    (("--os", "--interval", "x"), "error: --interval"),
    (("--os", "--timeout", "x"), "error: --timeout"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "line"), BAD, ids=[" ".join(a) or "nothing" for a, _ in BAD])
def test_bad_rollout_options_are_one_error_line_and_send_nothing(vmssroll, emu, args, line):
    emu.clear_requests()
    result = vmssroll("rollout", *target(), *args, "--yes")
    assert result.exit_code == 2, result.output
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(line), result.stderr
    assert emu.requests == []


def test_undo_with_a_bad_interval_is_one_error_line_and_sends_nothing(vmssroll, emu):
    emu.clear_requests()
    result = vmssroll("undo", *target(), "--interval", "soon", "--yes")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: --interval: 'soon' is not a duration (use e.g. 30s, 2m, 1h30m, 1d or PT30S)"
    ]
    assert emu.requests == []

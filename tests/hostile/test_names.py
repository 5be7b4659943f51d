"""Names, ids and versions are matched whole: a trailing newline, a control character anywhere or an id of the
wrong kind is refused with exit 2 before any request, and the message quotes a short, escaped excerpt."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import NAME, RG, set_rolling

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
CONTROL = st.one_of(
    st.characters(min_codepoint=1, max_codepoint=0x1F), st.sampled_from(["\x7f", "\x9b", "\u202e"])
)
SUB = "00000000-0000-0000-0000-000000000000"
SS_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{NAME}"
GALLERY = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/g/images/ubuntu"


def refused(result, emu) -> None:
    assert result.exit_code == 2, result.output
    assert emu.requests == [], [(r.method, r.path) for r in emu.requests]
    line = result.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line and len(line) < 600, result.stderr
    assert not any(c in result.stderr for c in "\x1b\x7f\x9b\u202e\r\x00")


def spliced(valid: str):
    """`valid` with one control character put anywhere in it (start, middle, end)."""
    return st.tuples(st.integers(0, len(valid)), CONTROL).map(lambda p: valid[: p[0]] + p[1] + valid[p[0] :])


def test_a_trailing_newline_is_not_a_name(vmssroll, emu):
    """Fails on the old code: `$` matched before the trailing newline and `rg\\n` was sent."""
    for args in (
        ("-g", RG + "\n", "-n", NAME),
        ("-g", RG, "-n", NAME + "\n"),
        ("-g", RG, "-n", NAME, "-s", emu.subscription_id + "\n"),
        ("--id", SS_ID + "\n"),
        ("--id", SS_ID + "\r"),
    ):
        emu.clear_requests()
        refused(vmssroll("policy", "show", *args), emu)


@SETTINGS
@given(data=st.data())
def test_a_control_character_anywhere_is_refused(vmssroll, emu, data):
    emu.clear_requests()
    which = data.draw(st.sampled_from(["rg", "name", "id"]))
    args: tuple[str, ...]
    if which == "rg":
        args = ("-g", data.draw(spliced(RG)), "-n", NAME)
    elif which == "name":
        args = ("-g", RG, "-n", data.draw(spliced(NAME)))
    else:
        args = ("--id", data.draw(spliced(SS_ID)))
    refused(vmssroll("status", *args), emu)


@SETTINGS
@given(data=st.data())
def test_image_versions_and_ids_are_matched_whole(vmssroll, emu, data):
    emu.clear_requests()
    args = data.draw(
        st.one_of(
            spliced("2.0.0").map(lambda v: ("--version", v)),
            spliced(GALLERY + "/versions/2.0.0").map(lambda v: ("--image-id", v)),
            st.sampled_from(
                [
                    ("--image-id", "/subscriptions/x/providers/Microsoft.Compute/anything"),
                    (
                        "--image-id",
                        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/disks/d",
                    ),
                    ("--image-id", SS_ID),
                    ("--image-id", GALLERY + "/versions/"),
                    ("--image-id", GALLERY + "/versions/2.0.0/extra"),
                    ("--image-id", GALLERY.replace(SUB, "not-a-guid")),
                ]
            ),
        )
    )
    refused(vmssroll("set-image", "-g", RG, "-n", NAME, *args, "--yes"), emu)


def test_well_formed_image_ids_still_go_through(vmssroll, emu):
    set_rolling(emu)
    for image_id in (
        GALLERY + "/versions/3.0.0",
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/images/my-image",
    ):
        result = vmssroll("set-image", "-g", RG, "-n", NAME, "--image-id", image_id, "--dry-run")
        assert result.exit_code == 0, result.output


def test_a_huge_value_is_quoted_short(vmssroll, emu):
    emu.clear_requests()
    result = vmssroll("status", "-g", "x" * 100_000 + "\x1b[2J", "-n", NAME)
    refused(result, emu)
    assert "more characters" in result.stderr

"""Durations as people type them and as Azure stores them: table-driven, plus properties."""

from __future__ import annotations

from datetime import timedelta

import isodate
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmssroll.domain.durations import human, iso_seconds, parse_duration, to_iso
from vmssroll.domain.errors import InvalidInput

WEEK = 7 * 86400


@pytest.mark.parametrize(
    ("text", "seconds", "iso"),
    [
        ("30s", 30, "PT30S"),
        ("2m", 120, "PT2M"),
        ("1h30m", 5400, "PT1H30M"),
        ("1h", 3600, "PT1H"),
        ("1H30M", 5400, "PT1H30M"),
        ("2m30s", 150, "PT2M30S"),
        ("2m30", 150, "PT2M30S"),  # a bare number after minutes is seconds
        ("45", 45, "PT45S"),
        ("0", 0, "PT0S"),
        ("0s", 0, "PT0S"),
        ("90", 90, "PT1M30S"),
        (" 30s ", 30, "PT30S"),
        ("PT0S", 0, "PT0S"),
        ("PT30S", 30, "PT30S"),
        ("pt30s", 30, "PT30S"),
        ("PT5M", 300, "PT5M"),
        ("PT1H30M", 5400, "PT1H30M"),
        ("PT90M", 5400, "PT1H30M"),
        ("P1D", 86400, "P1D"),
        ("P1DT2H", 93600, "P1DT2H"),
        ("P1W", WEEK, "P7D"),
        ("P7D", WEEK, "P7D"),
        ("PT168H", WEEK, "P7D"),
        ("P1.5D", 129600, "P1DT12H"),
        ("PT1M30.0S", 90, "PT1M30S"),
        ("168h", WEEK, "P7D"),
        ("1d", 86400, "P1D"),
        ("1D12h", 129600, "P1DT12H"),
        ("1w", WEEK, "P7D"),
        ("6d23h59m59s", WEEK - 1, "P6DT23H59M59S"),
    ],
)
def test_accepted(text: str, seconds: int, iso: str) -> None:
    delta = parse_duration(text, what="--pause")
    assert delta == timedelta(seconds=seconds)
    assert to_iso(delta) == iso


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1DT", "not an ISO 8601 duration"),
        ("PTS", "not an ISO 8601 duration"),
        ("PT-5S", "not an ISO 8601 duration"),
        ("P1Y", "months or years"),
        ("P2M", "months or years"),
        ("P7DT1S", "longer than 7 days"),
        ("P8D", "longer than 7 days"),
        ("169h", "longer than 7 days"),
        ("PT0.5S", "fraction of a second"),
        ("1.5s", "fraction of a second"),
        ("-5s", "not a duration"),
        ("soon", "not a duration"),
        ("s", "not a duration"),
        ("h", "not a duration"),
        ("1h1h", "not a duration"),
        ("30m1h", "not a duration"),
        ("1d1w", "not a duration"),
        ("2w", "longer than 7 days"),
        ("8d", "longer than 7 days"),
        ("1w1s", "longer than 7 days"),
        ("999999999999999999999w", "too long"),
        ("1e3", "not a duration"),
        ("１２", "not a duration"),  # full-width digits are not ASCII digits
        ("30 s", "not a duration"),
        ("999999999999999999999h", "too long"),
        ("PT99999999999999999999H", "not an ISO 8601 duration"),
    ],
)
def test_refused(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_duration(text, what="--pause-time-between-batches")
    assert err.value.message.startswith("--pause-time-between-batches: ")
    assert says in err.value.message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT0S", 0), ("PT30S", 30), ("PT1H30M", 5400), ("P1D", 86400), ("PT0.5S", 0.5), ("", 0), ("junk", 0)],
)
def test_iso_seconds_reads_azure_and_never_raises(text: str, seconds: float) -> None:
    assert iso_seconds(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (59.6, "1m00s"), (185, "3m05s"), (3720, "1h02m"), (-3, "0s"), (90000, "25h00m")],
)
def test_human(seconds: float, text: str) -> None:
    assert human(seconds) == text


seconds_in_range = st.integers(0, WEEK)


def friendly(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s"


@given(seconds_in_range)
def test_every_whole_duration_up_to_a_week_round_trips_through_iso(seconds: int) -> None:
    iso = to_iso(timedelta(seconds=seconds))
    assert iso.startswith("P")
    assert parse_duration(iso, what="x") == timedelta(seconds=seconds)
    assert isodate.parse_duration(iso).total_seconds() == seconds
    assert iso_seconds(iso) == seconds


@given(
    seconds_in_range, st.sampled_from([friendly, str, lambda s: f"PT{s}S", lambda s: f"{s // 60}m{s % 60}s"])
)
def test_every_form_in_range_is_accepted(seconds: int, form) -> None:
    assert parse_duration(form(seconds), what="x").total_seconds() == seconds


@given(st.integers(WEEK + 1, 10**9), st.sampled_from([friendly, str, lambda s: f"PT{s}S"]))
def test_every_form_beyond_a_week_is_refused(seconds: int, form) -> None:
    with pytest.raises(InvalidInput, match=r"longer than 7 days|too long"):
        parse_duration(form(seconds), what="x")


@given(st.text(max_size=16))
def test_any_text_parses_or_is_refused_with_invalid_input(text: str) -> None:
    try:
        delta = parse_duration(text, what="x")
    except InvalidInput as err:
        assert err.message.startswith("x: ")
    else:
        assert timedelta(0) <= delta <= timedelta(days=7)
        assert delta.microseconds == 0
        assert parse_duration(to_iso(delta), what="x") == delta


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--bake: empty duration (use e.g. 30s, 2m, 1h30m, 1d or PT30S)"),
        ("PTX", "--bake: 'PTX' is not an ISO 8601 duration (e.g. PT30S, PT5M, PT1H30M)"),
        ("P1Y", "--bake: 'P1Y' uses months or years; give days, hours, minutes or seconds"),
        ("soon", "--bake: 'soon' is not a duration (use e.g. 30s, 2m, 1h30m, 1d or PT30S)"),
        ("8d", "--bake: '8d' is longer than 7 days"),
        ("0.5", "--bake: '0.5' has a fraction of a second; give whole seconds"),
        ("9" * 30 + "w", f"--bake: {'9' * 30 + 'w'!r} is too long"),
    ],
)
def test_refusal_messages_exactly(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_duration(text, what="--bake")
    assert err.value.message == message


@pytest.mark.parametrize(
    ("text", "seconds"), [("P0D", 0), ("PT1,5M", 90), ("7d", WEEK), ("1w0d0h0m0s", WEEK)]
)
def test_more_accepted(text: str, seconds: int) -> None:
    assert parse_duration(text, what="x") == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (-5, "0s"), (44.6, "45s"), (59, "59s"), (60, "1m00s"), (185, "3m05s"), (3599, "59m59s"),
     (3600, "1h00m"), (3725, "1h02m"), (90000, "25h00m")],
)  # fmt: skip
def test_human_at_its_boundaries(seconds: float, text: str) -> None:
    assert human(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT1M", 60.0), ("P1D", 86400.0), ("P1M", 0.0), ("junk", 0.0), (None, 0.0)]
)
def test_iso_seconds(text: str, seconds: float) -> None:
    assert iso_seconds(text) == seconds

"""Durations as people type them (30s, 2m, 1h30m) and as Azure stores them (ISO 8601)."""

from __future__ import annotations

import re
from datetime import timedelta

import isodate

from vmssroll.domain.errors import InvalidInput, shown

_FRIENDLY = re.compile(
    r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s?)?$",
    re.IGNORECASE | re.ASCII,
)
# ISO 8601's shape: at least one element, and a T only when a time element follows (isodate accepts PT and
# P1DT).
_ISO = re.compile(r"^P(?=[0-9]|T[0-9])(?:[0-9]+(?:[.,][0-9]+)?[YMWD])*(?:T(?:[0-9]+(?:[.,][0-9]+)?[HMS])+)?$")
_MAX = timedelta(days=7)


def parse_duration(text: str, *, what: str) -> timedelta:
    """Parse `30s`, `2m`, `1h30m`, `1d`, `1w`, `45` (seconds) or ISO 8601 (`PT1H30M`) into a timedelta."""
    value = text.strip()
    if not value:
        raise InvalidInput(f"{what}: empty duration (use e.g. 30s, 2m, 1h30m, 1d or PT30S)")
    if value[:1] in "Pp":
        try:
            if not _ISO.match(value.upper()):
                raise ValueError(value)
            parsed = isodate.parse_duration(value.upper())
        except (isodate.ISO8601Error, ValueError, OverflowError):
            raise InvalidInput(
                f"{what}: {shown(text)} is not an ISO 8601 duration (e.g. PT30S, PT5M, PT1H30M)"
            ) from None
        if not isinstance(parsed, timedelta):
            raise InvalidInput(
                f"{what}: {shown(text)} uses months or years; give days, hours, minutes or seconds"
            )
        delta = parsed
    else:
        match = _FRIENDLY.match(value)
        if not match or not any(match.groupdict().values()):
            raise InvalidInput(
                f"{what}: {shown(text)} is not a duration (use e.g. 30s, 2m, 1h30m, 1d or PT30S)"
            )
        try:
            delta = timedelta(
                weeks=int(match["w"] or 0),
                days=int(match["d"] or 0),
                hours=int(match["h"] or 0),
                minutes=int(match["m"] or 0),
                seconds=float(match["s"] or 0),
            )
        except OverflowError:
            raise InvalidInput(f"{what}: {shown(text)} is too long") from None
    if delta < timedelta(0):
        raise InvalidInput(f"{what}: {shown(text)} is negative")
    if delta > _MAX:
        raise InvalidInput(f"{what}: {shown(text)} is longer than 7 days")
    if delta.microseconds:
        raise InvalidInput(f"{what}: {shown(text)} has a fraction of a second; give whole seconds")
    return delta


def to_iso(delta: timedelta) -> str:
    """ISO 8601 as Azure writes it: PT0S, PT30S, PT1H30M."""
    total = int(delta.total_seconds())
    if total == 0:
        return "PT0S"
    return isodate.duration_isoformat(timedelta(seconds=total))


def iso_seconds(text: str) -> float:
    """Seconds of an ISO 8601 duration read from Azure; 0 when it cannot be read."""
    try:
        parsed = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError, TypeError, OverflowError):
        return 0.0
    return parsed.total_seconds() if isinstance(parsed, timedelta) else 0.0


def human(seconds: float) -> str:
    """A short readable duration: 45s, 3m05s, 1h02m."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"

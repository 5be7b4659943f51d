"""A part of a result that could not be read: "unknown, because …" as a value, never a missing key.

Each command decides its outcome from one primary signal (the upgrade status, the operation it started, the
scale set model); other reads only enrich the result. When one of those fails, the result carries an `Unknown`
in its place, and the command shows everything else and says what is missing and why, in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from vmssroll.domain.errors import AuthFailed, AzureRequestFailed, VmssrollError

T = TypeVar("T")


@dataclass(frozen=True)
class Unknown:
    """What could not be read (`part`, e.g. "instances") and why, in a few words (`reason`)."""

    part: str
    reason: str

    def line(self) -> str:
        """`instances: unknown (listing refused: 403 AuthorizationFailed)`"""
        return f"{self.part}: unknown ({self.reason})"

    @classmethod
    def of(cls, part: str, verb: str, err: VmssrollError) -> Unknown:
        """The reason a read failed, from the named failure: refused (4xx), throttled (429), failed (5xx or
        no answer)."""
        status = getattr(err, "status", None)
        code = getattr(err, "code", None) or ""
        if status is None:
            what = f"{verb} stopped: {code}" if code else f"{verb} failed: no answer from Azure"
        elif status == 429:
            what = f"{verb} throttled: 429 {code}".rstrip()
        elif status >= 500:
            what = f"{verb} failed: {status} {code}".rstrip()
        else:
            what = f"{verb} refused: {status} {code}".rstrip()
        return cls(part, what)


def is_supplementary_failure(err: VmssrollError) -> bool:
    """A failure that leaves a supplementary read unknown rather than ending the command: any refusal or
    failure of the request itself, including 403 (the role may lack this one permission), but not a
    credential Azure refused (401: every other request would fail the same way)."""
    if isinstance(err, AuthFailed):
        return getattr(err, "status", None) == 403
    return isinstance(err, AzureRequestFailed)


def known(value: T | Unknown) -> T | None:
    """The value when it was read, else None."""
    return None if isinstance(value, Unknown) else value

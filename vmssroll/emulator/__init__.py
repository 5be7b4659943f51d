"""An Azure Resource Manager emulator for scale sets and rolling upgrades (no azure imports here)."""

from .app import Emulator, RequestRecord
from .clock import Clock, ManualClock, ScaledClock
from .scenarios import ScenarioError, builtin_names

__all__ = [
    "Clock",
    "Emulator",
    "ManualClock",
    "RequestRecord",
    "ScaledClock",
    "ScenarioError",
    "builtin_names",
]

"""The one simulated clock. Simulated time only moves when someone advances it."""
from __future__ import annotations

DEFAULT_START = 1_767_225_600  # 2026-01-01T00:00:00Z: every simulated run starts here unless told otherwise


class SimClock:
    """Whole unix seconds that move only forward, and only when told to."""

    def __init__(self, start: int) -> None:
        if int(start) != start or start < 0:
            raise ValueError(f"clock start must be a non-negative whole number of seconds, got {start!r}")
        self._now = int(start)

    def now(self) -> int:
        return self._now

    def move_to(self, when: int) -> None:
        if when < self._now:
            raise ValueError(f"the clock only moves forward: {when} is before {self._now}")
        self._now = int(when)

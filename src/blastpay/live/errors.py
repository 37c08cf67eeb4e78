"""The one error the live probe reports: a one-line message, nothing written."""
from __future__ import annotations


class LiveProbeError(Exception):
    """A problem the probe reports as one line (bad key, unreachable host, bad file)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

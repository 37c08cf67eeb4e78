"""Webhook signing, the retry schedule and the delivery queue (no I/O here)."""
from __future__ import annotations

import hashlib
import heapq
import hmac
import urllib.error
import urllib.request
from dataclasses import dataclass, field

# Stripe: "attempts to deliver events to your destination for up to three days with an
# exponential back off in live mode". The exact intervals are not published; this schedule
# is the emulator's choice: 1 min, 3 min, 9 min, 27 min, 81 min, 243 min, then every 12 h,
# stopping once the next attempt would fall more than 3 days after the event was created.
RETRY_WINDOW = 3 * 24 * 3600
_FIRST_DELAYS = (60, 180, 540, 1620, 4860, 14580)
_LATER_DELAY = 12 * 3600


def retry_delay(failed_attempt: int) -> int:
    """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed."""
    if failed_attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {failed_attempt}")
    if failed_attempt <= len(_FIRST_DELAYS):
        return _FIRST_DELAYS[failed_attempt - 1]
    return _LATER_DELAY


def retry_schedule(created: int) -> list[int]:
    """Every attempt time for an event created at ``created`` that never gets a 2xx."""
    times = [created]
    attempt = 1
    while True:
        nxt = times[-1] + retry_delay(attempt)
        if nxt > created + RETRY_WINDOW:
            return times
        times.append(nxt)
        attempt += 1


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """``t=<ts>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`` as Stripe sends it."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_over_http(url: str, headers: dict[str, str], body: bytes) -> int:
    """The default webhook transport: a real HTTP POST; returns the status code."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - endpoint URLs are the user's
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@dataclass(order=True)
class PendingDelivery:
    due: int
    seq: int
    event_id: str = field(compare=False)
    endpoint_id: str = field(compare=False)
    attempt: int = field(compare=False, default=1)


class Outbox:
    """Deliveries waiting for their simulated time, earliest first."""

    def __init__(self) -> None:
        self._heap: list[PendingDelivery] = []
        self._seq = 0

    def schedule(self, due: int, event_id: str, endpoint_id: str, attempt: int = 1) -> None:
        self._seq += 1
        heapq.heappush(self._heap, PendingDelivery(due, self._seq, event_id, endpoint_id, attempt))

    def pop_due(self, now: int) -> PendingDelivery | None:
        if self._heap and self._heap[0].due <= now:
            return heapq.heappop(self._heap)
        return None

    def next_due(self) -> int | None:
        return self._heap[0].due if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

"""Webhook signing, the retry schedule and the delivery queue (no I/O here)."""
from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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


WEBHOOK_TIMEOUT = 10.0  # seconds for one delivery attempt (connect, send, read the status line)


class WebhookHostRefused(ValueError):
    """The endpoint's host is not one the emulator may send to."""


@dataclass(frozen=True)
class WebhookHosts:
    """Where the emulator may send webhooks: loopback addresses (127.0.0.0/8, ::1, ``localhost``) and the host
    names given with ``--allow-webhook-host``. The emulator's own safety rule, not Stripe behaviour: a fake
    that anyone can point at a URL must not become a way to reach private networks or cloud metadata."""

    allowed: frozenset[str] = frozenset()

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not receive webhooks, or None if it may."""
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return f"{url[:200]} is not a valid URL"
        if host in self.allowed or host == "localhost":
            return None
        try:
            if ipaddress.ip_address(host).is_loopback:
                return None
        except ValueError:
            pass
        return (f"the Stripe emulator sends webhooks only to loopback addresses and to hosts named with "
                f"--allow-webhook-host; {host[:200] or 'no host'} is neither")


class HttpWebhookTransport:
    """The default webhook transport: one HTTP POST to an allowed host, redirects not followed (a 3xx is a
    failed delivery, retried on the schedule like any other non-2xx); returns the status code."""

    def __init__(self, hosts: WebhookHosts) -> None:
        self.hosts = hosts

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        refusal = self.hosts.refusal(url)
        if refusal is not None:
            raise WebhookHostRefused(refusal)
        parts = urlsplit(url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname or "", parts.port, timeout=WEBHOOK_TIMEOUT)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            return response.status
        finally:
            connection.close()


post_over_http = HttpWebhookTransport(WebhookHosts())


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

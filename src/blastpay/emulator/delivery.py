"""Webhook delivery: queueing per endpoint (with injected faults), delivering due attempts over the transport without the lock, retries and the delivery log."""
from __future__ import annotations

from typing import Any

from blastpay.emulator.webhooks import RETRY_WINDOW, retry_delay, signature_header


class Delivery:
    """Mixed into ``Backend``; every method runs with ``self.lock`` held unless it says otherwise."""

    # -- webhook delivery ------------------------------------------------------------------
    def _enqueue(self, event: dict[str, Any], endpoints: list[dict[str, Any]]) -> None:
        if not endpoints:
            return
        now = self.now()
        fault = next((f for f in self.webhook_faults if f["remaining"] > 0), None)
        if fault is not None:
            fault["remaining"] -= 1
        kind = fault["kind"] if fault else None
        for endpoint in endpoints:
            if kind == "drop":
                self._log(event["id"], endpoint, 0, None, "dropped", None, "dropped by fault injection")
            elif kind == "delay":
                self.outbox.schedule(now + fault["seconds"], event["id"], endpoint["id"])
            elif kind == "duplicate":
                self.outbox.schedule(now, event["id"], endpoint["id"])
                self.outbox.schedule(now, event["id"], endpoint["id"])
            elif kind == "reorder":
                self.held_deliveries.append((event["id"], endpoint["id"]))
            else:
                self.outbox.schedule(now, event["id"], endpoint["id"])
        if kind == "reorder" and fault["remaining"] == 0:
            self.release_held()

    def release_held(self) -> None:
        now = self.now()
        for event_id, endpoint_id in reversed(self.held_deliveries):
            self.outbox.schedule(now, event_id, endpoint_id)
        self.held_deliveries.clear()

    def _log(self, event_id: str, endpoint: dict[str, Any], attempt: int, status: int | None, outcome: str,
             next_attempt: int | None, error: str | None = None) -> None:
        self.deliveries.append(
            {
                "event": event_id,
                "type": self.stores["event"].objects[event_id]["type"],
                "endpoint": endpoint["url"],
                "endpoint_id": endpoint["id"],
                "attempt": attempt,
                "status": status,
                "outcome": outcome,
                "error": error,
                "at": self.now(),
                "next_attempt_at": next_attempt,
            }
        )

    def deliver_due(self) -> None:
        """Deliver every delivery due now. Call WITHOUT holding the lock."""
        with self.delivery_lock:
            self._deliver_due()

    def _deliver_due(self) -> None:
        while True:
            with self.lock:
                item = self.outbox.pop_due(self.now())
                if item is None:
                    return
                endpoint = self.stores["webhook_endpoint"].get(item.endpoint_id)
                if endpoint is None or endpoint["status"] != "enabled":
                    continue
                body = self.event_bodies[item.event_id]
                timestamp = int(self.wall_clock())
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": signature_header(self.endpoint_secrets[endpoint["id"]], body, timestamp),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                }
                url = endpoint["url"]
                transport = self.webhook_transport
            status: int | None
            error = None
            try:
                status = int(transport(url, headers, body))
            except Exception as exc:  # a failed delivery is data, not a crash
                status, error = None, f"{type(exc).__name__}: {exc}"
            with self.lock:
                if status is not None and 200 <= status < 300:
                    self._log(item.event_id, endpoint, item.attempt, status, "delivered", None)
                    continue
                created = self.stores["event"].objects[item.event_id]["created"]
                retry_at = self.now() + retry_delay(item.attempt)
                if retry_at <= created + RETRY_WINDOW:
                    self.outbox.schedule(retry_at, item.event_id, item.endpoint_id, item.attempt + 1)
                    self._log(item.event_id, endpoint, item.attempt, status, "retrying", retry_at, error)
                else:
                    self._log(item.event_id, endpoint, item.attempt, status, "failed", None, error)

    def flush_webhooks(self) -> None:
        """Release held deliveries and attempt every one due now; returns when they have been attempted."""
        with self.delivery_lock:
            with self.lock:
                self.release_held()
            self.deliver_due()

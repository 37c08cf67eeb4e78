"""The background deliverer of a served emulator: webhook attempts leave the API request path.

When the emulator is served, a ``/v1`` call or a page request that makes deliveries due only wakes this
thread and answers; the thread then runs ``Backend.deliver_due`` (the same attempts, retry schedule and
delivery log as inline delivery). The simulated clock still decides when each attempt is due, and
``deliver_due`` holds the backend's delivery lock for a whole pass, so ``advance`` and ``flush`` (which
take the same lock) first wait for a pass under way and then deliver everything due themselves: after
either returns, every delivery due at the simulated time it reached has been attempted and logged.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("blastpay.emulator")


class BackgroundDeliverer:
    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="stripe-emulator-webhooks", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Deliveries may be due: attempt them soon, on the deliverer's thread."""
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping:
                return
            self._wake.clear()
            try:
                self.backend.deliver_due()
            except Exception as exc:  # noqa: BLE001 - a bug here must not stop later deliveries
                log.error("webhook delivery failed: %s: %s", type(exc).__name__, exc)

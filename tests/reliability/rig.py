"""A lazy-mint backend wired to the emulator with a known webhook secret, for tests that sign, replay,
crash and race webhook deliveries."""

from __future__ import annotations

import json
import time
from typing import Optional
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from blastpay.emulator import Emulator
from blastpay.emulator.webhooks import signature_header
from blastpay.flows.harness import CANCEL_URL, EXPERIMENT_TOKEN_KEYS, SUCCESS_URL
from blastpay.flows.lazy_mint import LazyMintConfig
from blastpay.flows.order_models import Base, OrderSpec
from blastpay.flows.orders import OrderStore
from blastpay.flows.pay_route import create_app
from blastpay.flows.tokens import make_binding, parse_token_keys
from blastpay.flows.webhook_matcher import ENABLED_EVENTS, WEBHOOK_PATH

BACKEND = "http://backend.test"


class Rig:
    def __init__(self, database_url: str = "sqlite://", binding: str = "hmac") -> None:
        self.emu = Emulator(seed=0)
        self.stripe = self.emu.client()
        self.store = OrderStore(database_url)
        endpoint = self.stripe.v1.webhook_endpoints.create({"url": BACKEND + WEBHOOK_PATH,
                                                           "enabled_events": ENABLED_EVENTS})
        self.secret = endpoint.secret
        self.binding = make_binding(binding, parse_token_keys(EXPERIMENT_TOKEN_KEYS))
        self.app = create_app(store=self.store, stripe_client=self.stripe, binding=self.binding, clock=self.emu.now,
                              config=LazyMintConfig(public_base_url=BACKEND, success_url=SUCCESS_URL,
                                                    cancel_url=CANCEL_URL),
                              webhook_secrets=[self.secret])
        self.lazy = self.app.state.lazy_mint
        # A crashing handler answers 500 (as uvicorn would), it does not raise into the emulator.
        self.web = TestClient(self.app, base_url=BACKEND, raise_server_exceptions=False)
        self.captured: list[tuple[dict[str, str], bytes]] = []

        def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
            self.captured.append((dict(headers), body))
            return self.web.post(urlsplit(url).path, content=body, headers=headers).status_code

        self.emu.webhook_transport = deliver

    # what Flow offers, for check_invariants
    @property
    def observer(self):
        return self.stripe

    def clock(self) -> int:
        return self.emu.now()

    def orders(self, n: int = 1, amount: int = 15000):
        return self.store.create_orders([OrderSpec(parent_id=100 + i, player_id=i + 1, product_id="utah-invitational-2026",
                                                   amount=amount) for i in range(n)], now=self.emu.now())

    def token(self, order_id: int) -> str:
        with self.store.transaction() as session:
            return self.binding.mint(session, order_id, now=self.emu.now())

    def open(self, token: str) -> Optional[str]:
        """GET /pay/{token}; the Checkout Session id it redirects to (None for any other page)."""
        response = self.web.get(f"/pay/{token}", follow_redirects=False)
        if response.status_code != 303:
            return None
        return response.headers["location"].rsplit("/", 1)[-1]

    def sign(self, body: bytes, *, secret: Optional[str] = None, timestamp: Optional[int] = None) -> str:
        return signature_header(secret or self.secret, body, int(time.time()) if timestamp is None else timestamp)

    def post(self, body: bytes, signature: Optional[str]):
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        return self.web.post(WEBHOOK_PATH, content=body, headers=headers)

    def event_body(self, event_type: str) -> bytes:
        """The newest event of ``event_type`` Stripe emitted, as Stripe would send it."""
        (event,) = self.stripe.v1.events.list({"type": event_type, "limit": 1}).data
        return json.dumps(event.to_dict()).encode()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table, to prove a request changed nothing."""
        with self.store.transaction() as session:
            out = {}
            for table in Base.metadata.sorted_tables:
                rows = session.execute(select(*table.columns)).all()
                out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
            return out

    def close(self) -> None:
        self.web.close()
        self.store.dispose()

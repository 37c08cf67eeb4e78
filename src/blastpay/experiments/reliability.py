"""Figures for the failure-modes evidence: pay-token entropy, fuzz cases, races, invariant checks, load.

Everything here is deterministic (seeded, simulated time) except ``load_figures``, which only reads
the committed output of ``benchmarks/pay_route_load.py --write`` (timings are measured by hand or by
CI, never by the evidence run).
"""

from __future__ import annotations

import json
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional
from unittest import mock

from blastpay.flows import tokens
from blastpay.flows.orders import OrderSpec, OrderStore

LOAD_FILE = Path("experiments/benchmarks/pay_route_load.json")


@contextmanager
def _counting_random_bytes() -> Iterator[list[int]]:
    """Count the bytes the token module draws from ``secrets`` while the block runs."""
    drawn: list[int] = []
    real = secrets.token_bytes

    def spy(n: Optional[int] = None) -> bytes:
        drawn.append(int(n if n is not None else 32))
        return real(n)

    with mock.patch.object(tokens.secrets, "token_bytes", spy):
        yield drawn


def token_entropy(binding_name: str, keys: str = "k1:" + "11" * 32) -> dict[str, Any]:
    """Entropy of one minted token, measured by counting the random bytes the code draws per token and
    by decoding the token's layout. ``random_bits`` is what a guesser must hit with no key;
    ``tag_bits`` (hmac) is the additional MAC a forger without the key must also hit."""
    store = OrderStore("sqlite://")
    try:
        (order,) = store.create_orders([OrderSpec(parent_id=1, player_id=1, product_id="p", amount=100)], now=0)
        binding = tokens.make_binding(binding_name, tokens.parse_token_keys(keys) if binding_name == "hmac" else None)
        with _counting_random_bytes() as drawn, store.transaction() as session:
            token = binding.mint(session, order.id, now=0)
        raw = tokens._b64decode(token)
        assert raw is not None
        random_bits = 8 * sum(drawn)
        tag_bits = 8 * tokens.TAG_BYTES if binding_name == "hmac" else 0
        return {"binding": binding_name, "random_bits": random_bits, "tag_bits": tag_bits,
                "guess_resistance_bits": random_bits + tag_bits, "token_chars": len(token),
                "token_bytes": len(raw)}
    finally:
        store.dispose()


def token_entropy_bits() -> dict[str, dict[str, Any]]:
    """``token_entropy`` for every binding."""
    return {name: token_entropy(name) for name in ("hmac", "db")}


def load_figures(root: Path) -> Optional[dict[str, Any]]:
    """The committed load benchmark figures, or None if the benchmark has not been written yet."""
    path = root / LOAD_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())

import pytest

from blastpay.emulator import Emulator
from blastpay.flows.harness import build_flow
from blastpay.flows.orders import OrderSpec

HOUR, DAY = 3600, 86400


def spec(player_id=1, amount=15000, product_id="utah-invitational-2026", parent_id=111):
    return OrderSpec(parent_id=parent_id, player_id=player_id, product_id=product_id, amount=amount, currency="usd")


@pytest.fixture
def make_flow():
    """build_flow over a fresh seeded emulator; every flow is closed after the test."""
    made = []

    def make(variant, **kwargs):
        emu = Emulator(seed=0)
        flow = build_flow(variant, emulator=emu, **kwargs)
        made.append(flow)
        return emu, flow

    yield make
    for flow in made:
        flow.close()


def completed_sessions(flow, order_id):
    return [s for s in flow.stripe_sessions(order_id) if s.status == "complete"]

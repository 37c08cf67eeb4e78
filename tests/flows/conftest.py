import pytest

from blastpay.emulator import Emulator
from blastpay.flows.harness import build_flow


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

"""A click that replays an attempt's Idempotency-Key while Stripe is still executing the first request
with it: Stripe answers 409 ``idempotency_key_in_use`` (the emulator does too, issue 17). The lease
normally keeps a second click from replaying a key in flight; when it lapses (here: the wall clock moves
past it while Stripe's answer is held by the emulator's latency fault), the parent sees "try again",
never a 500, and the first click's session is the order's only one."""

from __future__ import annotations

import threading
import time

import pytest
from rig import Rig


@pytest.fixture
def rig(tmp_path):
    made = Rig(f"sqlite:///{tmp_path}/inflight.db")
    yield made
    made.close()


def _sessions(rig: Rig) -> list:
    return rig.stripe.v1.checkout.sessions.list({"limit": 100}).data


def test_a_409_in_progress_reaching_the_click_answers_try_again(rig):
    (order,) = rig.orders(1)
    token = rig.token(order.id)
    wall = [time.time()]
    rig.lazy.wall_clock = lambda: wall[0]
    rig.emu.set_faults(route="POST /v1/checkout/sessions", latency_ms=1500)
    first: dict[str, object] = {}
    holder = threading.Thread(target=lambda: first.update(response=rig.web.get(f"/pay/{token}", follow_redirects=False)))
    holder.start()
    while not _sessions(rig):  # Stripe has created the session and holds its answer: the key is in flight
        assert holder.is_alive()
        threading.Event().wait(0.005)
    wall[0] += 3600  # the holder's lease lapses (as if its Stripe call outlived the lease)
    second = rig.web.get(f"/pay/{token}", follow_redirects=False)
    holder.join(timeout=10)
    rig.emu.set_faults(clear=True)
    assert second.status_code == 503 and 'data-page="try_again"' in second.text and second.headers["Retry-After"]
    assert first["response"].status_code == 303  # the first click records and hands out its session
    (session,) = _sessions(rig)
    assert first["response"].headers["location"].endswith(session.id)
    third = rig.web.get(f"/pay/{token}", follow_redirects=False)
    assert third.status_code == 303 and third.headers["location"].endswith(session.id)
    assert len(_sessions(rig)) == 1

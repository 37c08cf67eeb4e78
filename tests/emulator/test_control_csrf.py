"""The control API refuses what a web page on another site could send it (the emulator's own rule)."""
from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest

from blastpay.emulator import Emulator


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Emulator, str]]:
    emu = Emulator(seed=11)
    with emu.serve("127.0.0.1", 0) as handle:
        yield emu, handle.base_url


def _customers(emu: Emulator) -> int:
    return len(emu.client().v1.customers.list({"limit": 100}).data)


def _error(response: httpx.Response) -> dict[str, Any]:
    error = json.loads(response.content)["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    return error


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
def test_a_cross_site_form_post_cannot_reset_the_emulator(served, origin):
    emu, base = served
    emu.client().v1.customers.create({"email": "kept@example.test"})
    before = _customers(emu)
    headers = {"Origin": origin} if origin else {}
    answer = httpx.post(f"{base}/_sandbox/reset", data={"x": "1"}, headers=headers, timeout=5)
    assert answer.status_code in (400, 403)
    _error(answer)
    assert _customers(emu) == before


def test_a_form_post_cannot_inject_faults(served):
    emu, base = served
    answer = httpx.post(f"{base}/_sandbox/faults", data={"route": "*", "error": "500", "count": "5"},
                        headers={"Origin": "https://evil.example"}, timeout=5)
    assert answer.status_code in (400, 403)
    emu.client().v1.customers.create({"email": "still-works@example.test"})  # no fault was injected


def test_json_from_another_origin_is_refused(served):
    _, base = served
    answer = httpx.post(f"{base}/_sandbox/clock/advance", json={"seconds": 60},
                        headers={"Origin": "https://evil.example"}, timeout=5)
    assert answer.status_code == 403
    assert "Origin" in _error(answer)["message"]


def test_json_without_an_origin_or_from_the_emulators_own_pages_works(served):
    emu, base = served
    before = emu.now()
    assert httpx.post(f"{base}/_sandbox/clock/advance", json={"seconds": 60}, timeout=5).json() == {"now": before + 60}
    answer = httpx.post(f"{base}/_sandbox/clock/advance", json={"seconds": 60}, headers={"Origin": base}, timeout=5)
    assert answer.json() == {"now": before + 120}
    assert httpx.post(f"{base}/_sandbox/faults", json={"clear": True}, timeout=5).status_code == 200


def test_a_json_body_that_is_not_an_object_of_plain_values_is_a_400(served):
    _, base = served
    for body in ("[1]", '{"seconds": {"a": 1}}', "{not json"):
        answer = httpx.post(f"{base}/_sandbox/clock/advance", content=body,
                            headers={"Content-Type": "application/json"}, timeout=5)
        assert answer.status_code == 400
        _error(answer)

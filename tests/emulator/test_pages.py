"""The HTML pages a browser sees at the URLs the HTTP door hands out."""
from __future__ import annotations

import requests

DAY = 24 * 3600


def test_browser_journey_through_pages(http_door):
    door = http_door
    door.reset()
    client = door.client
    product = client.v1.products.create({"name": "Summer camp"})
    price = client.v1.prices.create({"currency": "usd", "unit_amount": 12500, "product": product.id})
    link = client.v1.payment_links.create({
        "line_items": [{"price": price.id, "quantity": 1}],
        "after_completion": {"type": "redirect", "redirect": {"url": "https://club.example/paid/{CHECKOUT_SESSION_ID}"}},
        "restrictions": {"completed_sessions": {"limit": 1}},
        "inactive_message": "Camp is full.",
    })
    assert link.url.startswith(door.api_base + "/b/")
    browser = requests.Session()
    opened = browser.get(link.url + "?client_reference_id=fam_1", allow_redirects=False)
    assert opened.status_code == 303
    page = browser.get(door.api_base + opened.headers["Location"])
    assert page.status_code == 200
    assert "Pay 125.00 USD" in page.text and "Summer camp" in page.text
    assert 'value="succeeded">Pay</button>' in page.text
    session_id = opened.headers["Location"].rsplit("/", 1)[1]
    assert client.v1.checkout.sessions.retrieve(session_id).client_reference_id == "fam_1"

    declined = browser.post(door.api_base + f"/c/pay/{session_id}", data={"outcome": "declined"}, allow_redirects=False)
    assert declined.status_code == 200 and "declined" in declined.text
    paid = browser.post(door.api_base + f"/c/pay/{session_id}", data={"outcome": "succeeded"}, allow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"https://club.example/paid/{session_id}"

    full = browser.get(link.url)
    assert full.status_code == 200 and "Camp is full." in full.text

    session = client.v1.checkout.sessions.create({
        "line_items": [{"price": price.id, "quantity": 2}], "cancel_url": "https://club.example/back",
    })
    checkout = browser.get(session.url)
    assert 'href="https://club.example/back"' in checkout.text and "Pay 250.00 USD" in checkout.text
    door.advance(DAY)
    assert "expired" in browser.get(session.url).text
    assert browser.get(door.api_base + "/c/pay/cs_test_nothing").status_code == 404

"""Subscriptions, their invoices, automatic tax and registrations: each rule through the public SDK, over both doors."""
from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

DAY = 24 * 3600
ORDER = {"order_id": "42"}


@pytest.fixture
def monthly(door: Any) -> Any:
    product = door.client.v1.products.create({"name": "Monthly training fee"})
    return door.client.v1.prices.create({"currency": "usd", "unit_amount": 3000, "product": product.id,
                                         "recurring": {"interval": "month"}})


@pytest.fixture
def jersey(door: Any) -> Any:
    product = door.client.v1.products.create({"name": "Jersey"})
    return door.client.v1.prices.create({"currency": "usd", "unit_amount": 2500, "product": product.id})


def price(door: Any, amount: int, behavior: str, recurring: bool = False) -> Any:
    product = door.client.v1.products.create({"name": f"Fee {amount} {behavior}"})
    params: dict[str, Any] = {"currency": "usd", "unit_amount": amount, "product": product.id, "tax_behavior": behavior}
    if recurring:
        params["recurring"] = {"interval": "month"}
    return door.client.v1.prices.create(params)


def sub_session(door: Any, *prices: Any, **extra: Any) -> Any:
    params = {"mode": "subscription", "line_items": [{"price": p.id, "quantity": 1} for p in prices],
              "success_url": "https://club.example/paid"}
    params.update(extra)
    return door.client.v1.checkout.sessions.create(params)


def pay_at(door: Any, session_id: str, **address: str) -> None:
    """Pay, the parent entering ``address`` as billing address (the emulator's default parent when empty)."""
    body = json.dumps({"address": address} if address else {})
    response = door.emu._wire.handle("POST", f"/_sandbox/checkout/{session_id}/pay", "",
                                     {"content-type": "application/json"}, body)
    assert response.status == 200, response.body
    door.emu.flush_webhooks()


def register(door: Any, state: str = "CA") -> Any:
    return door.client.v1.tax.registrations.create({"country": "US", "active_from": "now",
                                                    "country_options": {"us": {"state": state,
                                                                               "type": "state_sales_tax"}}})


# -- subscriptions ------------------------------------------------------------------------------
def test_paid_subscription_session_starts_a_subscription_with_its_first_invoice(door, monthly, hook):
    session = sub_session(door, monthly)
    door.pay(session.id)
    done = door.client.v1.checkout.sessions.retrieve(session.id)
    subscription = door.client.v1.subscriptions.retrieve(done.subscription)
    invoice = door.client.v1.invoices.retrieve(done.invoice)
    assert subscription.status == "active" and subscription.customer == done.customer
    assert subscription.latest_invoice == invoice.id
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == ("subscription_create", "paid", 3000)
    assert invoice.parent.subscription_details.subscription == subscription.id
    assert door.sink.types() == ["customer.subscription.created", "invoice.created", "invoice.finalized",
                                 "invoice.paid", "invoice.payment_succeeded", "checkout.session.completed"]


def test_subscription_metadata_comes_from_subscription_data_only(door, monthly):
    only_session = sub_session(door, monthly, metadata=ORDER)
    both = sub_session(door, monthly, metadata=ORDER, subscription_data={"metadata": ORDER, "description": "Monthly"})
    door.pay(only_session.id)
    door.pay(both.id)
    bare = door.client.v1.subscriptions.retrieve(door.client.v1.checkout.sessions.retrieve(only_session.id).subscription)
    tagged = door.client.v1.subscriptions.retrieve(door.client.v1.checkout.sessions.retrieve(both.id).subscription)
    assert bare.metadata.to_dict() == {}
    assert tagged.metadata.to_dict() == ORDER and tagged.description == "Monthly"


def test_payment_link_subscription_data_metadata_reaches_the_subscription_and_link_metadata_does_not(door, monthly):
    plain = door.client.v1.payment_links.create({"line_items": [{"price": monthly.id, "quantity": 1}],
                                                 "metadata": ORDER})
    tagged = door.client.v1.payment_links.create({"line_items": [{"price": monthly.id, "quantity": 1}],
                                                  "metadata": ORDER, "subscription_data": {"metadata": ORDER}})
    found = {}
    for name, link in (("plain", plain), ("tagged", tagged)):
        session_id = door.visit(link.url)["session"]
        door.pay(session_id)
        session = door.client.v1.checkout.sessions.retrieve(session_id)
        invoice = door.client.v1.invoices.retrieve(session.invoice)
        found[name] = (session.metadata.to_dict(),
                       door.client.v1.subscriptions.retrieve(session.subscription).metadata.to_dict(),
                       (invoice.parent.subscription_details.metadata or {}).to_dict()
                       if invoice.parent.subscription_details.metadata else {})
    assert found["plain"] == (ORDER, {}, {})
    assert found["tagged"] == (ORDER, ORDER, ORDER)


def test_invoice_carries_subscription_metadata_in_parent_and_lines_not_its_own(door, monthly, jersey):
    session = sub_session(door, monthly, jersey, subscription_data={"metadata": ORDER})
    door.pay(session.id)
    invoice = door.client.v1.invoices.retrieve(door.client.v1.checkout.sessions.retrieve(session.id).invoice)
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.metadata.to_dict() == ORDER
    assert invoice.metadata.to_dict() == {}
    lines = door.client.v1.invoices.line_items.list(invoice.id).data
    assert [(line.amount, line.metadata.to_dict()) for line in lines] == [(3000, ORDER), (2500, {})]


def test_subscription_renews_each_month_on_the_clock_billing_recurring_lines_only(door, monthly, jersey, hook):
    session = sub_session(door, monthly, jersey, subscription_data={"metadata": ORDER})
    door.pay(session.id)
    sub_id = door.client.v1.checkout.sessions.retrieve(session.id).subscription
    first = door.client.v1.subscriptions.retrieve(sub_id)
    period_end = first["items"].data[0].current_period_end
    assert period_end - first.start_date == 31 * DAY  # 1 Jan 2026 to 1 Feb 2026
    door.advance(period_end - door.now() - 1)
    assert len(door.client.v1.invoices.list({"subscription": sub_id}).data) == 1
    door.advance(1)
    door.advance(28 * DAY)  # 1 Feb to 1 Mar
    invoices = door.client.v1.invoices.list({"subscription": sub_id}).data
    assert [(i.billing_reason, i.total) for i in invoices] == [
        ("subscription_cycle", 3000), ("subscription_cycle", 3000), ("subscription_create", 5500)]
    assert all(i.parent.subscription_details.metadata.to_dict() == ORDER for i in invoices)
    renewed = door.client.v1.subscriptions.retrieve(sub_id)
    assert renewed.latest_invoice == invoices[0].id
    assert door.sink.types().count("invoice.paid") == 3
    assert door.sink.types()[-5:] == ["invoice.created", "invoice.finalized", "invoice.paid",
                                      "invoice.payment_succeeded", "customer.subscription.updated"]


def test_canceled_subscription_is_not_billed_again(door, monthly, hook):
    session = sub_session(door, monthly)
    door.pay(session.id)
    sub_id = door.client.v1.checkout.sessions.retrieve(session.id).subscription
    canceled = door.client.v1.subscriptions.cancel(sub_id)
    assert canceled.status == "canceled" and canceled.canceled_at == door.now()
    door.advance(62 * DAY)
    assert len(door.client.v1.invoices.list({"subscription": sub_id}).data) == 1
    assert "customer.subscription.deleted" in door.sink.types()
    assert door.client.v1.subscriptions.list().data == []
    assert [s.id for s in door.client.v1.subscriptions.list({"status": "canceled"}).data] == [sub_id]


def test_each_completed_subscription_session_starts_its_own_subscription(door, monthly):
    first = sub_session(door, monthly, metadata=ORDER, subscription_data={"metadata": ORDER})
    second = sub_session(door, monthly, metadata=ORDER, subscription_data={"metadata": ORDER})
    door.pay(first.id)
    door.pay(second.id)
    subs = {door.client.v1.checkout.sessions.retrieve(s.id).subscription for s in (first, second)}
    assert len(subs) == 2
    assert len(door.client.v1.subscriptions.list().data) == 2


def test_subscription_mode_takes_20_recurring_and_20_one_time_line_items(door, monthly, jersey):
    ok = sub_session(door, *([monthly] * 20 + [jersey] * 20))
    assert ok.status == "open"
    for extra, kind in ((monthly, "recurring"), (jersey, "one-time")):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            sub_session(door, *([monthly] * 20 + [jersey] * 20 + [extra]))
        assert (caught.value.param, caught.value.user_message) == ("line_items", (
            f"In `subscription` mode a Checkout Session accepts at most 20 line items with {kind} prices, but you "
            "passed 21."))


def test_payment_mode_session_takes_at_most_100_line_items(door, jersey):
    def session(count: int) -> Any:
        return door.client.v1.checkout.sessions.create({"mode": "payment",
                                                        "line_items": [{"price": jersey.id, "quantity": 1}] * count})
    assert session(100).amount_total == 100 * 2500
    with pytest.raises(stripe.InvalidRequestError) as caught:
        session(101)
    assert caught.value.param == "line_items" and "at most 100" in caught.value.user_message


def test_per_order_link_with_limit_1_deactivates_after_one_subscription(door, monthly):
    link = door.client.v1.payment_links.create({"line_items": [{"price": monthly.id, "quantity": 1}],
                                                "restrictions": {"completed_sessions": {"limit": 1}},
                                                "subscription_data": {"metadata": ORDER}})
    early = door.visit(link.url)["session"]
    used = door.visit(link.url)["session"]
    door.pay(used)
    assert door.client.v1.payment_links.retrieve(link.id).active is False
    assert door.visit(link.url)["page"] == "inactive"
    door.pay(early)  # opened before the limit was reached: still payable, a second subscription
    assert len(door.client.v1.subscriptions.list().data) == 2


# -- tax ------------------------------------------------------------------------------------------
def test_automatic_tax_refuses_a_price_without_tax_behavior(door, jersey):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.checkout.sessions.create({"mode": "payment", "automatic_tax": {"enabled": True},
                                                 "line_items": [{"price": jersey.id, "quantity": 1}]})
    assert caught.value.user_message.startswith(f"The price `{jersey.id}` does not have a `tax_behavior` set")
    inline = door.client.v1.checkout.sessions.create({
        "mode": "payment", "automatic_tax": {"enabled": True},
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 4500, "tax_behavior": "exclusive",
                                       "product_data": {"name": "Tournament fee"}}, "quantity": 1}]})
    assert inline.automatic_tax.enabled is True


def test_payment_link_automatic_tax_refuses_a_price_without_tax_behavior(door, jersey):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.payment_links.create({"automatic_tax": {"enabled": True},
                                             "line_items": [{"price": jersey.id, "quantity": 1}]})
    assert "tax_behavior" in caught.value.user_message


def test_open_session_with_automatic_tax_waits_for_the_parents_address(door):
    fee = price(door, 4500, "exclusive")
    session = door.client.v1.checkout.sessions.create({"mode": "payment", "automatic_tax": {"enabled": True},
                                                       "line_items": [{"price": fee.id, "quantity": 1}]})
    assert (session.automatic_tax.status, session.amount_total) == ("requires_location_inputs", 4500)
    pay_at(door, session.id, country="US", state="NY", postal_code="10001")
    done = door.client.v1.checkout.sessions.retrieve(session.id)
    assert done.automatic_tax.status == "complete"
    assert (done.customer_details.address.state, done.customer_details.address.postal_code) == ("NY", "10001")


def test_tax_is_charged_only_where_registered(door):
    fee = price(door, 4500, "exclusive")
    register(door, "CA")
    totals = {}
    for state in ("CA", "NY"):
        session = door.client.v1.checkout.sessions.create({"mode": "payment", "automatic_tax": {"enabled": True},
                                                           "line_items": [{"price": fee.id, "quantity": 1}]})
        pay_at(door, session.id, country="US", state=state, postal_code="00000")
        done = door.client.v1.checkout.sessions.retrieve(session.id)
        totals[state] = (done.total_details.amount_tax, done.amount_total)
    assert totals == {"CA": (450, 4950), "NY": (0, 4500)}


def test_exclusive_tax_raises_the_total_inclusive_tax_is_carved_out(door):
    register(door, "CA")
    found = {}
    for behavior in ("exclusive", "inclusive"):
        fee = price(door, 4400, behavior)
        session = door.client.v1.checkout.sessions.create({"mode": "payment", "automatic_tax": {"enabled": True},
                                                           "line_items": [{"price": fee.id, "quantity": 1}]})
        door.pay(session.id)
        done = door.client.v1.checkout.sessions.retrieve(session.id)
        item = door.client.v1.checkout.sessions.line_items.list(session.id).data[0]
        found[behavior] = (done.amount_subtotal, done.total_details.amount_tax, done.amount_total, item.amount_tax)
    assert found == {"exclusive": (4400, 440, 4840, 440), "inclusive": (4400, 400, 4400, 400)}


def test_tax_registrations_create_list_and_retrieve(door):
    made = register(door, "ca")
    assert (made.country, made.country_options.us.state, made.status) == ("US", "CA", "active")
    later = door.client.v1.tax.registrations.create({"country": "US", "active_from": door.now() + DAY,
                                                     "country_options": {"us": {"state": "NY",
                                                                                "type": "state_sales_tax"}}})
    assert later.status == "scheduled"
    assert door.client.v1.tax.registrations.retrieve(made.id).id == made.id
    assert {r.id for r in door.client.v1.tax.registrations.list({"status": "all"}).data} == {made.id, later.id}
    door.advance(DAY)
    assert door.client.v1.tax.registrations.retrieve(later.id).status == "active"


def test_payment_link_automatic_tax_reaches_its_sessions(door):
    fee = price(door, 4500, "exclusive")
    register(door, "CA")
    link = door.client.v1.payment_links.create({"automatic_tax": {"enabled": True},
                                                "line_items": [{"price": fee.id, "quantity": 1}]})
    assert link.automatic_tax.enabled is True
    session_id = door.visit(link.url)["session"]
    assert door.client.v1.checkout.sessions.retrieve(session_id).automatic_tax.status == "requires_location_inputs"
    door.pay(session_id)
    assert door.client.v1.checkout.sessions.retrieve(session_id).amount_total == 4950


def test_subscription_renewals_are_taxed_at_the_checkout_address(door):
    register(door, "CA")
    fee = price(door, 3000, "exclusive", recurring=True)
    session = sub_session(door, fee, automatic_tax={"enabled": True})
    pay_at(door, session.id, country="US", state="CA", postal_code="94103")
    sub_id = door.client.v1.checkout.sessions.retrieve(session.id).subscription
    door.advance(31 * DAY)
    invoices = door.client.v1.invoices.list({"subscription": sub_id}).data
    assert [(i.billing_reason, i.total, i.total_excluding_tax) for i in invoices] == [
        ("subscription_cycle", 3300, 3000), ("subscription_create", 3300, 3000)]
    assert json.loads(json.dumps(invoices[0].customer_address.to_dict()))["state"] == "CA"

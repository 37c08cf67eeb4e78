"""Conformance: each Stripe rule in blastpay.emulator.rules, through the public SDK, over both doors."""
from __future__ import annotations

import threading
from typing import Any

import pytest
import stripe

from blastpay.emulator import EmulatorError

DAY = 24 * 3600


def make_session(door: Any, price: Any, **extra: Any) -> Any:
    params = {"mode": "payment", "line_items": [{"price": price.id, "quantity": 1}],
              "success_url": "https://club.example/paid?session={CHECKOUT_SESSION_ID}"}
    params.update(extra)
    return door.client.v1.checkout.sessions.create(params)


def make_link(door: Any, price: Any, **extra: Any) -> Any:
    params = {"line_items": [{"price": price.id, "quantity": 1}]}
    params.update(extra)
    return door.client.v1.payment_links.create(params)


# -- session lifetime ---------------------------------------------------------------------------
def test_expires_at_more_than_24_hours_is_refused(door, price):
    for too_late in (door.now() + 30 * DAY, door.now() + DAY + 1):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            make_session(door, price, expires_at=too_late)
        assert caught.value.param == "expires_at"
        assert caught.value.user_message == (
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation."
        )
        assert caught.value.http_status == 400


def test_expires_at_less_than_30_minutes_is_refused(door, price):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, expires_at=door.now() + 30 * 60 - 1)
    assert caught.value.param == "expires_at"
    assert "30 minutes" in caught.value.user_message


def test_expires_at_defaults_to_24_hours(door, price):
    session = make_session(door, price)
    assert session.expires_at == session.created + DAY


def test_expires_at_window_bounds_are_accepted(door, price):
    assert make_session(door, price, expires_at=door.now() + 30 * 60).status == "open"
    assert make_session(door, price, expires_at=door.now() + DAY).status == "open"


def test_expires_at_cannot_be_updated(door, price):
    session = make_session(door, price)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.checkout.sessions.update(session.id, {"expires_at": door.now() + 3600})
    assert caught.value.param == "expires_at"
    assert caught.value.user_message == "Received unknown parameter: expires_at"
    updated = door.client.v1.checkout.sessions.update(session.id, {"metadata": {"note": "kept"}})
    assert updated.metadata["note"] == "kept"


def test_session_expires_when_clock_reaches_expires_at(door, price, hook):
    session = make_session(door, price, expires_at=door.now() + 3600)
    door.advance(3599)
    assert door.client.v1.checkout.sessions.retrieve(session.id).status == "open"
    door.advance(1)
    expired = door.client.v1.checkout.sessions.retrieve(session.id)
    assert expired.status == "expired"
    assert expired.url is None
    events = door.client.v1.events.list({"type": "checkout.session.expired"}).data
    assert [e.data.object.id for e in events] == [session.id]
    assert events[0].created == session.expires_at
    assert door.sink.types() == ["checkout.session.expired"]


def test_expire_endpoint_only_for_open_sessions(door, price):
    session = make_session(door, price)
    expired = door.client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        door.client.v1.checkout.sessions.expire(session.id)
    paid = make_session(door, price)
    door.pay(paid.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.checkout.sessions.expire(paid.id)
    assert (caught.value.param, caught.value.user_message) == (
        "session", 'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a '
                   'status of "complete".')


def test_url_only_while_open(door, price):
    session = make_session(door, price)
    assert session.url.endswith(f"/c/pay/{session.id}")
    door.pay(session.id)
    assert door.client.v1.checkout.sessions.retrieve(session.id).url is None


def test_expired_session_cannot_be_paid(door, price):
    session = make_session(door, price)
    door.advance(DAY)
    view = door.visit(session.url)
    assert view["page"] == "expired"
    assert view["session"] == session.id
    with pytest.raises(EmulatorError) as caught:
        door.pay(session.id)
    assert caught.value.status == 400
    assert "expired" in caught.value.message
    assert door.client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"


def test_complete_session_cannot_be_paid_again(door, price):
    session = make_session(door, price)
    door.pay(session.id)
    with pytest.raises(EmulatorError) as caught:
        door.pay(session.id)
    assert "complete" in caught.value.message
    assert len(door.client.v1.payment_intents.list().data) == 1


# -- recovery -----------------------------------------------------------------------------------
def _recoverable(door, price, **extra):
    return make_session(door, price, after_expiration={"recovery": {"enabled": True}}, **extra)


def test_recovery_url_attached_on_expiry(door, price, hook):
    session = _recoverable(door, price)
    assert session.after_expiration.recovery.url is None
    door.advance(DAY)
    expired = door.client.v1.checkout.sessions.retrieve(session.id)
    recovery = expired.after_expiration.recovery
    assert recovery.url and "/r/" in recovery.url
    assert recovery.expires_at == session.expires_at + 30 * DAY
    (event,) = door.sink.events()
    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["after_expiration"]["recovery"]["url"] == recovery.url


def test_recovery_url_usable_for_30_days(door, price):
    session = _recoverable(door, price)
    door.advance(DAY)
    url = door.client.v1.checkout.sessions.retrieve(session.id).after_expiration.recovery.url
    door.advance(30 * DAY - 1)
    assert door.visit(url)["page"] == "checkout"
    door.advance(1)
    view = door.visit(url)
    assert view == {"page": "expired", "session": None, "message": view["message"]}
    assert "expired" in view["message"]


def test_recovery_creates_session_with_recovered_from(door, price):
    session = _recoverable(door, price)
    door.advance(DAY)
    url = door.client.v1.checkout.sessions.retrieve(session.id).after_expiration.recovery.url
    first = door.visit(url)
    second = door.visit(url)
    assert first["page"] == second["page"] == "checkout"
    assert first["session"] != second["session"]
    recovered = door.client.v1.checkout.sessions.retrieve(first["session"], {"expand": ["line_items"]})
    assert recovered.recovered_from == session.id
    assert recovered.status == "open"
    assert recovered.amount_total == session.amount_total == 4500
    assert recovered.line_items.data[0].price.id == price.id


def test_recovered_session_keeps_metadata_and_reference(door, price):
    session = _recoverable(door, price, metadata={"order_id": "ord_42"}, client_reference_id="family-7",
                           payment_intent_data={"metadata": {"order_id": "ord_42"}})
    door.advance(DAY)
    url = door.client.v1.checkout.sessions.retrieve(session.id).after_expiration.recovery.url
    recovered = door.client.v1.checkout.sessions.retrieve(door.visit(url)["session"])
    assert recovered.metadata.to_dict() == {"order_id": "ord_42"}
    assert recovered.client_reference_id == "family-7"
    door.pay(recovered.id)
    intent = door.client.v1.payment_intents.retrieve(door.client.v1.checkout.sessions.retrieve(recovered.id).payment_intent)
    assert intent.metadata.to_dict() == {"order_id": "ord_42"}


def test_recovery_url_after_expire_endpoint(door, price):
    session = _recoverable(door, price)
    expired = door.client.v1.checkout.sessions.expire(session.id)
    assert expired.after_expiration.recovery.url
    assert expired.after_expiration.recovery.expires_at == door.now() + 30 * DAY


# -- completion ---------------------------------------------------------------------------------
def test_paid_session_completes_with_metadata_in_event(door, price, hook):
    session = make_session(door, price, metadata={"order_id": "ord_1"}, client_reference_id="parent_9")
    result = door.pay(session.id)
    assert result["redirect"] == f"https://club.example/paid?session={session.id}"
    done = door.client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    (event,) = door.sink.events()
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["metadata"] == {"order_id": "ord_1"}
    assert event["data"]["object"]["client_reference_id"] == "parent_9"


def test_no_cost_session_completes_without_a_payment(door, price, hook):
    free = door.client.v1.prices.create({"currency": "usd", "unit_amount": 0, "product": price.product})
    session = make_session(door, free)
    door.pay(session.id)
    done = door.client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status, done.amount_total) == ("complete", "no_payment_required", 0)
    paid = make_session(door, price)
    door.pay(paid.id)
    assert door.client.v1.checkout.sessions.retrieve(paid.id).payment_status == "paid"
    cent = make_session(door, door.client.v1.prices.create({"currency": "usd", "unit_amount": 1,
                                                            "product": price.product}))
    door.pay(cent.id)
    assert door.client.v1.checkout.sessions.retrieve(cent.id).payment_status == "paid"  # one cent is a payment


def test_success_url_gets_session_id(door, price):
    session = make_session(door, price, success_url="https://club.example/thanks/{CHECKOUT_SESSION_ID}/done")
    assert door.pay(session.id)["redirect"] == f"https://club.example/thanks/{session.id}/done"


def test_cancel_returns_cancel_url_and_leaves_session_open(door, price):
    session = make_session(door, price, cancel_url="https://club.example/cart")
    assert door.cancel(session.id)["redirect"] == "https://club.example/cart"
    assert door.client.v1.checkout.sessions.retrieve(session.id).status == "open"
    without = make_session(door, price)
    assert door.cancel(without.id)["redirect"] is None


def test_declined_payment_leaves_session_open(door, price, hook):
    session = make_session(door, price)
    declined = door.pay(session.id, "declined")
    assert declined["redirect"] is None
    assert "declined" in declined["message"]
    still = door.client.v1.checkout.sessions.retrieve(session.id)
    assert (still.status, still.payment_status) == ("open", "unpaid")
    assert door.sink.received == []
    assert door.pay(session.id)["redirect"]
    assert door.client.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_payment_intent_carries_payment_intent_data_metadata_only(door, price):
    session = make_session(door, price, metadata={"session_only": "x"},
                           payment_intent_data={"metadata": {"order_id": "ord_5"}})
    assert session.payment_intent is None
    assert door.client.v1.payment_intents.list().data == []
    door.pay(session.id)
    intent_id = door.client.v1.checkout.sessions.retrieve(session.id).payment_intent
    intent = door.client.v1.payment_intents.retrieve(intent_id)
    assert intent.metadata.to_dict() == {"order_id": "ord_5"}
    assert (intent.amount, intent.currency, intent.status) == (4500, "usd", "succeeded")


def test_mode_must_match_price_types(door, price):
    monthly = door.client.v1.prices.create(
        {"currency": "usd", "unit_amount": 2000, "product_data": {"name": "Monthly dues"}, "recurring": {"interval": "month"}}
    )
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, monthly, mode="payment")
    assert (caught.value.param, caught.value.user_message) == ("mode", (
        "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only "
        "one-time prices."))
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, mode="subscription")
    assert (caught.value.param, caught.value.user_message) == (
        "mode", "You must provide at least one recurring price in `subscription` mode when using prices.")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, monthly, mode="subscription", payment_intent_data={"metadata": {"a": "b"}})
    assert (caught.value.param, caught.value.user_message) == (
        "payment_intent_data", "You can not pass `payment_intent_data` in `subscription` mode.")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, subscription_data={"metadata": {"a": "b"}})
    assert (caught.value.param, caught.value.user_message) == (
        "subscription_data", "You can not pass `subscription_data` in `payment` mode.")
    assert make_session(door, monthly, mode="subscription", subscription_data={"metadata": {"a": "b"}}).status == "open"
    subscription = make_session(door, monthly, mode="subscription")
    door.pay(subscription.id)
    done = door.client.v1.checkout.sessions.retrieve(subscription.id)
    assert done.subscription.startswith("sub_") and done.customer.startswith("cus_") and done.payment_intent is None


def test_mode_defaults_to_payment(door, price):
    session = door.client.v1.checkout.sessions.create({"line_items": [{"price": price.id, "quantity": 1}]})
    assert session.mode == "payment"


def test_session_customer_must_exist_and_excludes_customer_email(door, price):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, customer="cus_missing")
    assert (caught.value.param, caught.value.code) == ("customer", "resource_missing")
    customer = door.client.v1.customers.create({"email": "parent@example.test"})
    with pytest.raises(stripe.InvalidRequestError):
        make_session(door, price, customer=customer.id, customer_email="other@example.test")
    session = make_session(door, price, customer=customer.id)
    door.pay(session.id)
    assert door.client.v1.checkout.sessions.retrieve(session.id).customer_details.email == "parent@example.test"


def test_customer_creation_always_creates_a_customer_when_the_session_is_paid(door, price):
    always = make_session(door, price, customer_creation="always", customer_email="parent@example.test")
    assert always.customer is None  # none until the session is confirmed
    door.pay(always.id)
    paid = door.client.v1.checkout.sessions.retrieve(always.id)
    customer = door.client.v1.customers.retrieve(paid.customer)
    assert customer.email == "parent@example.test"
    assert door.client.v1.payment_intents.retrieve(paid.payment_intent).customer == customer.id
    guest = make_session(door, price)
    door.pay(guest.id)
    assert door.client.v1.checkout.sessions.retrieve(guest.id).customer is None  # if_required: a guest payment


def test_session_client_reference_id_max_200(door, price):
    assert make_session(door, price, client_reference_id="a" * 200).client_reference_id == "a" * 200
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, client_reference_id="a" * 201)
    assert caught.value.param == "client_reference_id"


def test_sessions_list_filters_by_payment_link(door, price):
    link = make_link(door, price)
    other = make_link(door, price)
    from_link = [door.visit(link.url)["session"] for _ in range(3)]
    door.visit(other.url)
    make_session(door, price)
    listed = door.client.v1.checkout.sessions.list({"payment_link": link.id})
    assert [s.id for s in listed.data] == from_link[::-1]
    assert all(s.payment_link == link.id for s in listed.data)


def test_sessions_list_filters_by_customer_and_by_status(door, price):
    customer = door.client.v1.customers.create({"email": "p@example.test"})
    mine = [make_session(door, price, customer=customer.id) for _ in range(2)]
    make_session(door, price)
    door.pay(mine[0].id)
    by_customer = door.client.v1.checkout.sessions.list({"customer": customer.id})
    assert [s.id for s in by_customer.data] == [mine[1].id, mine[0].id]
    assert door.client.v1.checkout.sessions.list({"customer": "cus_nobody"}).data == []
    complete = door.client.v1.checkout.sessions.list({"status": "complete"})
    assert [s.id for s in complete.data] == [mine[0].id]
    assert door.client.v1.checkout.sessions.list({"payment_link": "plink_nobody"}).data == []
    assert by_customer.url == "/v1/checkout/sessions"


def test_a_sessions_line_items_are_listed_and_an_unknown_session_has_none(door, price):
    session = make_session(door, price, line_items=[{"price": price.id, "quantity": 3}])
    (item,) = door.client.v1.checkout.sessions.line_items.list(session.id).data
    assert (item.quantity, item.amount_subtotal, item.amount_total, item.currency) == (3, 13500, 13500, "usd")
    assert item.id.startswith("li_") and item.price.id == price.id
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.checkout.sessions.line_items.list("cs_test_nobody")
    assert caught.value.http_status == 404


def test_pressing_back_names_the_session_and_an_unknown_one_is_refused(door, price):
    session = make_session(door, price, cancel_url="https://club.example/back")
    assert door.cancel(session.id) == {"redirect": "https://club.example/back", "session": session.id}
    with pytest.raises(EmulatorError) as caught:
        door.cancel("cs_test_nobody")
    assert caught.value.param == "session"


def test_a_session_without_line_items_is_refused_naming_them(door, price):
    for params in ({}, {"line_items": []}):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            door.client.v1.checkout.sessions.create({"mode": "payment", "success_url": "https://club.example/ok",
                                                     **params})
        assert caught.value.param == "line_items"
    customer = door.client.v1.customers.create({"email": "parent@example.test"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, customer=customer.id, customer_email="other@example.test")
    assert (caught.value.param, caught.value.user_message) == (
        "customer", "You may only specify one of these parameters: customer, customer_email.")


def test_a_session_passing_expiry_by_an_hour_expires_at_its_own_second(door, price, hook):
    session = make_session(door, price, expires_at=door.now() + 3600)
    door.advance(2 * 3600)
    (event,) = [e for e in door.sink.events() if e["type"] == "checkout.session.expired"]
    assert event["created"] == session.expires_at


def test_what_the_payer_sees_after_paying_declining_or_paying_what_cannot_be_paid(door, price):
    session = make_session(door, price, customer_email="parent@example.test")
    declined = door.pay(session.id, "declined")
    assert (declined["outcome"], declined["session"], declined["redirect"]) == ("declined", session.id, None)
    paid = door.pay(session.id)
    assert paid == {"redirect": f"https://club.example/paid?session={session.id}", "outcome": "succeeded",
                    "session": session.id, "message": "Payment succeeded."}
    for target, outcome, param, message in [
            (session.id, "maybe", "outcome", "Invalid outcome: must be one of succeeded or declined"),
            (session.id, "succeeded", "session", "This Checkout Session is already complete."),
            ("cs_test_nobody", "succeeded", "session", None)]:
        with pytest.raises(EmulatorError) as caught:
            door.pay(target, outcome)
        assert caught.value.param == param and (message is None or str(caught.value) == message)
    late = make_session(door, price)
    door.client.v1.checkout.sessions.expire(late.id)
    with pytest.raises(EmulatorError) as caught:
        door.pay(late.id)
    assert (caught.value.param, str(caught.value)) == (
        "session", "This Checkout Session has expired and can no longer be paid.")


def test_a_payment_intent_records_what_was_paid_by_whom_and_when(door, price):
    customer = door.client.v1.customers.create({"email": "parent@example.test"})
    session = make_session(door, price, customer=customer.id)
    door.advance(600)
    door.pay(session.id)
    done = door.client.v1.checkout.sessions.retrieve(session.id)
    intent = door.client.v1.payment_intents.retrieve(done.payment_intent)
    assert intent.id.startswith("pi_") and intent.client_secret.startswith(f"{intent.id}_secret_")
    assert (intent.amount, intent.amount_received, intent.currency, intent.customer, intent.created) == (
        4500, 4500, "usd", customer.id, door.now())
    assert intent.payment_method_types == done.payment_method_types == ["card"]
    second = make_session(door, price)
    door.pay(second.id)
    later = door.client.v1.checkout.sessions.retrieve(second.id).payment_intent
    page = door.client.v1.payment_intents.list({"limit": 1, "starting_after": later})
    assert [i.id for i in page.data] == [intent.id]


def test_a_payment_intent_is_in_its_sessions_currency(door, price):
    euro = door.client.v1.prices.create({"currency": "eur", "unit_amount": 4000, "product": price.product})
    session = make_session(door, euro, line_items=[{"price": euro.id, "quantity": 2}])
    door.pay(session.id)
    done = door.client.v1.checkout.sessions.retrieve(session.id)
    intent = door.client.v1.payment_intents.retrieve(done.payment_intent)
    assert (done.currency, done.amount_total) == ("eur", 8000)
    assert (intent.currency, intent.amount, intent.amount_received) == ("eur", 8000, 8000)


def test_a_guest_payment_creates_no_customer_and_a_subscription_gets_one_with_the_payers_email(door, price):
    guest = make_session(door, price)
    door.pay(guest.id)
    done = door.client.v1.checkout.sessions.retrieve(guest.id)
    assert done.customer is None and done.customer_details.email
    yearly = door.client.v1.prices.create({"currency": "usd", "unit_amount": 9000, "product": price.product,
                                           "recurring": {"interval": "year"}})
    sub = make_session(door, yearly, mode="subscription", customer_email="parent@example.test")
    door.pay(sub.id)
    customer_id = door.client.v1.checkout.sessions.retrieve(sub.id).customer
    assert door.client.v1.customers.retrieve(customer_id).email == "parent@example.test"


def test_a_new_session_reads_back_with_stripes_defaults_for_its_mode(door, price):
    guest = make_session(door, price, locale="fr", after_expiration={"recovery": {"enabled": True}})
    assert guest.id.startswith("cs_test_") and len(guest.id) == len("cs_test_") + 58
    assert (guest.amount_subtotal, guest.amount_total, guest.locale) == (4500, 4500, "fr")
    assert (guest.customer_creation, guest.payment_method_collection, guest.invoice_creation.enabled) == (
        "if_required", "if_required", False)
    assert guest.after_expiration.recovery.to_dict() == {"allow_promotion_codes": False, "enabled": True,
                                                         "expires_at": None, "url": None}
    assert make_session(door, price).after_expiration is None
    customer = door.client.v1.customers.create({"email": "parent@example.test"})
    assert make_session(door, price, customer=customer.id).customer_creation is None
    monthly = door.client.v1.prices.create({"currency": "usd", "unit_amount": 2000, "product": price.product,
                                            "recurring": {"interval": "month"}})
    sub = make_session(door, monthly, mode="subscription",
                       after_expiration={"recovery": {"enabled": True, "allow_promotion_codes": True}})
    assert (sub.customer_creation, sub.payment_method_collection, sub.invoice_creation) == (None, "always", None)
    assert sub.after_expiration.recovery.allow_promotion_codes is True


def test_line_items_name_the_item_at_fault(door, price):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, line_items=[{"price": price.id, "quantity": 1},
                                              {"price": price.id, "quantity": 1,
                                               "price_data": {"currency": "usd", "unit_amount": 1,
                                                              "product_data": {"name": "x"}}}])
    assert (caught.value.param, caught.value.user_message) == (
        "line_items[1][price]", "You may only specify one of these parameters: price, price_data.")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, line_items=[{"price": "price_nobody", "quantity": 1}])
    assert caught.value.param == "line_items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, line_items=[{"quantity": 1}])
    assert (caught.value.param, caught.value.user_message) == (
        "line_items[0]", "You must specify either `price` or `price_data` in line_items[0].")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, line_items=[{"price": price.id}])
    assert caught.value.param == "line_items[0][quantity]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, line_items=[{"price_data": {"currency": "usd", "unit_amount": -5,
                                                              "product_data": {"name": "x"}}, "quantity": 1}])
    assert caught.value.param.startswith("line_items[0][price_data][")
    for given, message in (({"currency": "usd", "unit_amount": 5}, "Missing required param: "),
                           ({"currency": "usd", "unit_amount": 5, "product": "prod_x", "product_data": {"name": "x"}},
                            "You may only specify one of these parameters: product, product_data.")):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            make_session(door, price, line_items=[{"price_data": given, "quantity": 1}])
        assert caught.value.param == "line_items[0][price_data][product]"  # Stripe's bracketed spelling
        assert message in str(caught.value)


def test_an_inline_price_from_price_data_is_left_out_of_the_price_list(door, price):
    # https://docs.stripe.com/api/prices/list: "Returns a list of your active prices, excluding inline prices."
    session = make_session(door, price, line_items=[{"quantity": 1, "price_data": {
        "currency": "usd", "unit_amount": 3000, "product_data": {"name": "Late registration fee"}}}])
    (item,) = door.client.v1.checkout.sessions.line_items.list(session.id).data
    assert (item.price.unit_amount, item.amount_total, item.description) == (3000, 3000, "Late registration fee")
    assert [p.id for p in door.client.v1.prices.list().data] == [price.id]


def test_a_payment_sessions_customer_creation_is_kept_as_given(door, price):
    assert make_session(door, price, customer_creation="always").customer_creation == "always"
    assert make_session(door, price).customer_creation == "if_required"


def test_a_session_cannot_mix_currencies(door, price):
    euro = door.client.v1.prices.create({"currency": "eur", "unit_amount": 4000, "product": price.product})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price, line_items=[{"price": price.id, "quantity": 1}, {"price": euro.id, "quantity": 1}])
    assert (caught.value.param, caught.value.user_message) == ("line_items", "All line items must use the same currency.")
    assert make_session(door, price, line_items=[{"price": price.id, "quantity": 1}] * 3).amount_total == 13500


def test_sessions_page_by_link_and_by_customer(door, price):
    link = make_link(door, price)
    opened = [door.visit(link.url)["session"] for _ in range(2)]
    page = door.client.v1.checkout.sessions.list({"payment_link": link.id, "limit": 1, "starting_after": opened[1]})
    assert [s.id for s in page.data] == [opened[0]]
    customer = door.client.v1.customers.create({"email": "parent@example.test"})
    mine = [make_session(door, price, customer=customer.id) for _ in range(2)]
    page = door.client.v1.checkout.sessions.list({"customer": customer.id, "limit": 1, "starting_after": mine[1].id})
    assert [s.id for s in page.data] == [mine[0].id]
    page = door.client.v1.checkout.sessions.list({"limit": 1, "starting_after": mine[1].id})
    assert [s.id for s in page.data] == [mine[0].id]


# -- payment links ------------------------------------------------------------------------------
def test_payment_link_works_after_31_days(door, price):
    link = make_link(door, price)
    door.advance(31 * DAY)
    view = door.visit(link.url)
    assert view["page"] == "checkout"
    session = door.client.v1.checkout.sessions.retrieve(view["session"])
    assert session.created == door.now()
    assert door.pay(session.id)["redirect"]


def test_each_visit_to_a_payment_link_opens_a_new_session(door, price):
    link = make_link(door, price)
    visits = [door.visit(link.url) for _ in range(3)]
    assert [v["page"] for v in visits] == ["checkout"] * 3
    ids = [v["session"] for v in visits]
    assert len(set(ids)) == 3
    assert all(door.client.v1.checkout.sessions.retrieve(i).status == "open" for i in ids)


def test_deactivated_link_shows_inactive_message(door, price):
    link = make_link(door, price)
    door.client.v1.payment_links.update(link.id, {"active": False})
    default = door.visit(link.url)
    assert (default["page"], default["session"]) == ("inactive", None)
    assert default["message"]
    door.client.v1.payment_links.update(link.id, {"inactive_message": "Registration closed. Ask the coach."})
    assert door.visit(link.url)["message"] == "Registration closed. Ask the coach."
    door.client.v1.payment_links.update(link.id, {"active": True})
    assert door.visit(link.url)["page"] == "checkout"


def test_payment_link_cannot_be_deleted(door, price):
    link = make_link(door, price)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.raw_request("delete", f"/v1/payment_links/{link.id}")
    assert caught.value.http_status == 404
    assert "Unrecognized request URL" in caught.value.user_message
    assert door.client.v1.payment_links.retrieve(link.id).active is True


def test_completed_sessions_limit_deactivates_link(door, price, hook):
    link = make_link(door, price, restrictions={"completed_sessions": {"limit": 2}})
    for _ in range(2):
        door.pay(door.visit(link.url)["session"])
    after = door.client.v1.payment_links.retrieve(link.id)
    assert after.active is False
    assert after.restrictions.completed_sessions.count == 2
    assert door.visit(link.url)["page"] == "inactive"
    updates = [e for e in door.sink.events() if e["type"] == "payment_link.updated"]
    assert len(updates) == 1
    assert updates[0]["data"]["previous_attributes"]["active"] is True


def test_sessions_open_when_limit_reached_can_still_complete(door, price, hook):
    link = make_link(door, price, restrictions={"completed_sessions": {"limit": 1}})
    first, second = door.visit(link.url)["session"], door.visit(link.url)["session"]
    door.pay(first)
    assert door.client.v1.payment_links.retrieve(link.id).active is False
    assert door.pay(second)["redirect"]  # the deactivated link's late completion
    after = door.client.v1.payment_links.retrieve(link.id)
    assert (after.active, after.restrictions.completed_sessions.count) == (False, 2)
    # the link was already inactive: the late completion announces no second deactivation
    assert [e["type"] for e in door.sink.events()].count("payment_link.updated") == 1


def test_raising_the_limit_after_payments_keeps_their_count(door, price, hook):
    link = make_link(door, price, restrictions={"completed_sessions": {"limit": 2}})
    door.pay(door.visit(link.url)["session"])
    updated = door.client.v1.payment_links.update(link.id, {"restrictions": {"completed_sessions": {"limit": 3}}})
    assert (updated.restrictions.completed_sessions.count, updated.restrictions.completed_sessions.limit) == (1, 3)
    door.pay(door.visit(link.url)["session"])
    assert door.client.v1.payment_links.retrieve(link.id).active is True
    door.pay(door.visit(link.url)["session"])
    assert door.client.v1.payment_links.retrieve(link.id).active is False
    assert door.visit(link.url)["page"] == "inactive"


def test_link_metadata_reaches_completed_event(door, price, hook):
    link = make_link(door, price, metadata={"order_id": "ord_77", "team": "u12"})
    session_id = door.visit(link.url)["session"]
    assert door.client.v1.checkout.sessions.retrieve(session_id).metadata.to_dict() == {"order_id": "ord_77", "team": "u12"}
    door.pay(session_id)
    (event,) = [e for e in door.sink.events() if e["type"] == "checkout.session.completed"]
    assert event["data"]["object"]["metadata"] == {"order_id": "ord_77", "team": "u12"}
    assert event["data"]["object"]["payment_link"] == link.id


def test_link_session_expires_after_24_hours(door, price):
    link = make_link(door, price)
    door.advance(5 * DAY)
    session_id = door.visit(link.url)["session"]
    door.advance(DAY)
    assert door.client.v1.checkout.sessions.retrieve(session_id).status == "expired"
    assert door.visit(link.url)["page"] == "checkout"


@pytest.mark.parametrize(
    "given, kept",
    [
        ("family_12-b", "family_12-b"),
        ("x" * 200, "x" * 200),
        ("x" * 201, None),
        ("order:12", None),
        ("a/b", None),
        ("dot.ted", None),
        ("", None),
    ],
)
def test_client_reference_id_from_url(door, price, given, kept):
    link = make_link(door, price)
    view = door.visit(f"{link.url}?client_reference_id={given}")
    assert view["page"] == "checkout"
    assert door.client.v1.checkout.sessions.retrieve(view["session"]).client_reference_id == kept


def test_prefilled_email_from_url(door, price):
    link = make_link(door, price)
    good = door.visit(f"{link.url}?prefilled_email=parent%40example.test")
    bad = door.visit(f"{link.url}?prefilled_email=not-an-email")
    assert door.client.v1.checkout.sessions.retrieve(good["session"]).customer_email == "parent@example.test"
    assert door.client.v1.checkout.sessions.retrieve(bad["session"]).customer_email is None


def test_payment_link_accepts_up_to_20_line_items(door, price):
    items = [{"price": price.id, "quantity": 1}] * 20
    link = door.client.v1.payment_links.create({"line_items": items})
    assert len(door.client.v1.payment_links.line_items.list(link.id, {"limit": 100}).data) == 20
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.payment_links.create({"line_items": items + [{"price": price.id, "quantity": 1}]})
    assert caught.value.param == "line_items"
    assert caught.value.user_message == "A payment link supports up to 20 line items, but you passed 21."
    with pytest.raises(stripe.InvalidRequestError) as missing:
        door.client.v1.payment_links.create({"metadata": {"a": "b"}})
    assert missing.value.param == "line_items"


def test_payment_link_with_price_data(door):
    link = door.client.v1.payment_links.create(
        {"line_items": [{"price_data": {"currency": "usd", "unit_amount": 3000, "product_data": {"name": "Jersey"}},
                         "quantity": 2}]}
    )
    session = door.client.v1.checkout.sessions.retrieve(door.visit(link.url)["session"])
    assert session.amount_total == 6000


def test_link_after_completion_redirect_and_hosted_confirmation(door, price):
    redirect = make_link(door, price, after_completion={
        "type": "redirect", "redirect": {"url": "https://club.example/paid/{CHECKOUT_SESSION_ID}"}})
    session_id = door.visit(redirect.url)["session"]
    assert door.pay(session_id)["redirect"] == f"https://club.example/paid/{session_id}"
    hosted = make_link(door, price, after_completion={
        "type": "hosted_confirmation", "hosted_confirmation": {"custom_message": "See you on court!"}})
    session_id = door.visit(hosted.url)["session"]
    target = door.pay(session_id)["redirect"]
    assert door.visit(target) == {"page": "completed", "session": session_id, "message": "See you on court!"}


def test_link_payment_intent_data_reaches_payment_intent(door, price):
    link = make_link(door, price, metadata={"link_only": "y"}, payment_intent_data={"metadata": {"order_id": "ord_9"}})
    session_id = door.visit(link.url)["session"]
    door.pay(session_id)
    intent_id = door.client.v1.checkout.sessions.retrieve(session_id).payment_intent
    assert door.client.v1.payment_intents.retrieve(intent_id).metadata.to_dict() == {"order_id": "ord_9"}


def test_payment_link_refuses_customer_and_client_reference_id(door, price):
    customer = door.client.v1.customers.create({"email": "p@example.test"})
    for name, value in (("customer", customer.id), ("client_reference_id", "abc"), ("expires_at", door.now() + 60)):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            make_link(door, price, **{name: value})
        assert caught.value.user_message == f"Received unknown parameter: {name}"


def test_update_emits_payment_link_updated(door, price, hook):
    link = make_link(door, price, metadata={"round": "1"})
    door.client.v1.payment_links.update(link.id, {"metadata": {"round": "2"}})
    (event,) = door.sink.events()
    assert event["type"] == "payment_link.updated"
    assert event["data"]["object"]["metadata"] == {"round": "2"}
    assert event["data"]["previous_attributes"] == {"metadata": {"round": "1"}}


def test_a_links_settings_can_be_changed_after_it_was_emailed(door, price, hook):
    link = make_link(door, price, inactive_message="Closed.")
    updated = door.client.v1.payment_links.update(link.id, {
        "after_completion": {"type": "redirect", "redirect": {"url": "https://club.example/thanks"}},
        "payment_intent_data": {"metadata": {"order_id": "ord_5"}}, "allow_promotion_codes": True,
        "inactive_message": ""})
    assert (updated.after_completion.type, updated.after_completion.redirect.url) == (
        "redirect", "https://club.example/thanks")
    assert (updated.allow_promotion_codes, updated.inactive_message) == (True, None)
    again = door.client.v1.payment_links.retrieve(link.id)
    assert (again.payment_intent_data.metadata.to_dict(), again.allow_promotion_codes) == ({"order_id": "ord_5"}, True)
    session_id = door.visit(link.url)["session"]
    assert door.pay(session_id)["redirect"] == "https://club.example/thanks"
    intent = door.client.v1.checkout.sessions.retrieve(session_id).payment_intent
    assert door.client.v1.payment_intents.retrieve(intent).metadata.to_dict() == {"order_id": "ord_5"}
    (event,) = [e for e in door.sink.events() if e["type"] == "payment_link.updated"]
    assert set(event["data"]["previous_attributes"]) == {"after_completion", "payment_intent_data",
                                                        "allow_promotion_codes", "inactive_message"}


def test_reaching_the_limit_announces_the_count_and_activity_before_the_payment(door, price, hook):
    link = make_link(door, price, restrictions={"completed_sessions": {"limit": 2}})
    door.pay(door.visit(link.url)["session"])
    door.pay(door.visit(link.url)["session"])
    (event,) = [e for e in door.sink.events() if e["type"] == "payment_link.updated"]
    assert event["data"]["object"]["id"] == link.id and event["data"]["object"]["active"] is False
    assert event["data"]["previous_attributes"] == {
        "active": True, "restrictions": {"completed_sessions": {"count": 1, "limit": 2}}}


def test_payment_intent_data_is_refused_on_a_recurring_link_and_subscription_data_on_a_one_time_one(door, price):
    yearly = door.client.v1.prices.create({"currency": "usd", "unit_amount": 9000, "product": price.product,
                                           "recurring": {"interval": "year"}})
    message = "You can not pass `payment_intent_data` with recurring prices."
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_link(door, yearly, payment_intent_data={"metadata": {"a": "b"}})
    assert (caught.value.user_message, caught.value.param) == (message, "payment_intent_data")
    recurring = make_link(door, yearly, subscription_data={"metadata": {"a": "b"}})
    assert recurring.subscription_data.metadata.to_dict() == {"a": "b"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.payment_links.update(recurring.id, {"payment_intent_data": {"metadata": {"a": "b"}}})
    assert (caught.value.user_message, caught.value.param) == (message, "payment_intent_data")
    assert make_link(door, price, payment_intent_data={"metadata": {"a": "b"}}).payment_intent_data is not None
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_link(door, price, subscription_data={"metadata": {"a": "b"}})
    assert (caught.value.param, caught.value.user_message) == ("subscription_data", (
        "There must be at least one line item with a recurring price to use `subscription_data`."))
    assert (recurring.subscription_data.trial_period_days, recurring.subscription_data.invoice_settings.issuer.type) == (
        None, "self")


def test_a_new_link_reads_back_in_its_currency_with_a_hosted_confirmation_and_lists_newest_first(door, price):
    first, second = make_link(door, price), make_link(door, price)
    assert first.id.startswith("plink_") and first.url.startswith(door.api_base + "/b/test_")
    assert (first.currency, first.subscription_data, first.restrictions) == ("usd", None, None)
    assert first.after_completion.to_dict() == {"hosted_confirmation": {"custom_message": None}, "redirect": None,
                                                "type": "hosted_confirmation"}
    assert [link.id for link in door.client.v1.payment_links.list().data][:2] == [second.id, first.id]
    page = door.client.v1.payment_links.list({"limit": 1, "starting_after": second.id})
    assert [link.id for link in page.data] == [first.id]
    euro = door.client.v1.prices.create({"currency": "eur", "unit_amount": 4000, "product": price.product})
    promo = make_link(door, euro, allow_promotion_codes=True)
    assert (promo.currency, promo.allow_promotion_codes) == ("eur", True)


def test_a_links_completion_settings_must_agree_with_their_type(door, price):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_link(door, price, after_completion={"type": "redirect"})
    assert caught.value.param == "after_completion[redirect]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_link(door, price, after_completion={"type": "hosted_confirmation",
                                                 "redirect": {"url": "https://club.example/x"}})
    assert (caught.value.param, caught.value.user_message) == (
        "after_completion[redirect]",
        "`after_completion[redirect]` can only be set when `after_completion[type]` is `redirect`.")


def test_a_links_payment_description_reaches_the_payment_intent(door, price):
    link = make_link(door, price, payment_intent_data={"description": "Spring tournament fee"})
    assert link.payment_intent_data.description == "Spring tournament fee"
    session_id = door.visit(link.url)["session"]
    door.pay(session_id)
    intent = door.client.v1.checkout.sessions.retrieve(session_id).payment_intent
    assert door.client.v1.payment_intents.retrieve(intent).description == "Spring tournament fee"


def test_a_limit_added_to_a_link_that_had_none_counts_from_zero(door, price):
    link = make_link(door, price)
    door.pay(door.visit(link.url)["session"])
    limited = door.client.v1.payment_links.update(link.id, {"restrictions": {"completed_sessions": {"limit": 2}}})
    assert (limited.restrictions.completed_sessions.count, limited.restrictions.completed_sessions.limit) == (0, 2)


def test_a_links_limit_can_be_removed(door, price):
    link = make_link(door, price, restrictions={"completed_sessions": {"limit": 1}})
    assert door.client.v1.payment_links.update(link.id, {"restrictions": ""}).restrictions is None
    for _ in range(2):
        door.pay(door.visit(link.url)["session"])
    assert door.client.v1.payment_links.retrieve(link.id).active is True


# -- resources ----------------------------------------------------------------------------------
def test_prices_one_time_and_recurring(door, price):
    assert (price.type, price.recurring) == ("one_time", None)
    yearly = door.client.v1.prices.create({"currency": "EUR", "unit_amount": 1000, "product": price.product,
                                           "recurring": {"interval": "year"}})
    assert (yearly.type, yearly.recurring.interval, yearly.currency) == ("recurring", "year", "eur")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.prices.create({"currency": "usd", "unit_amount": 1000, "product": price.product,
                                      "recurring": {"interval": "fortnight"}})
    assert caught.value.param == "recurring[interval]"


def test_inactive_price_refused(door, price):
    door.client.v1.prices.update(price.id, {"active": False})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_session(door, price)
    assert (caught.value.param, caught.value.user_message) == (
        "line_items[0][price]", "The price specified is inactive. This field only accepts active prices.")


def test_metadata_limits_and_unsetting(door):
    ok = door.client.v1.customers.create({"metadata": {f"k{i}": "v" for i in range(50)}})
    assert len(ok.metadata.to_dict()) == 50
    for bad in ({f"k{i}": "v" for i in range(51)}, {"k" * 41: "v"}, {"k": "v" * 501}):
        with pytest.raises(stripe.InvalidRequestError):
            door.client.v1.customers.create({"metadata": bad})
    customer = door.client.v1.customers.create({"metadata": {"a": "1", "b": "2"}})
    assert door.client.v1.customers.update(customer.id, {"metadata": {"a": ""}}).metadata.to_dict() == {"b": "2"}
    assert door.client.v1.customers.update(customer.id, {"metadata": ""}).metadata.to_dict() == {}


def test_list_pagination(door):
    made = [door.client.v1.customers.create({"name": f"c{i}"}).id for i in range(5)]
    first = door.client.v1.customers.list({"limit": 2})
    assert [c.id for c in first.data] == made[::-1][:2] and first.has_more
    second = door.client.v1.customers.list({"limit": 2, "starting_after": first.data[-1].id})
    assert [c.id for c in second.data] == made[::-1][2:4]
    back = door.client.v1.customers.list({"limit": 10, "ending_before": made[1]})
    assert [c.id for c in back.data] == made[::-1][:3] and not back.has_more
    assert [c.id for c in door.client.v1.customers.list().auto_paging_iter()] == made[::-1]
    for bad in (0, 101):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            door.client.v1.customers.list({"limit": bad})
        assert caught.value.param == "limit"


def test_events_list_and_retrieve(door, price):
    session = make_session(door, price)
    door.pay(session.id)
    door.client.v1.checkout.sessions.expire(make_session(door, price).id)
    listed = door.client.v1.events.list({"type": "checkout.session.completed"})
    assert [e.data.object.id for e in listed.data] == [session.id]
    event = door.client.v1.events.retrieve(listed.data[0].id)
    assert event.type == "checkout.session.completed" and event.data.object.status == "complete"
    assert [e.type for e in door.client.v1.events.list().data] == ["checkout.session.expired", "checkout.session.completed"]


# -- API surface --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, param",
    [
        ({"colour": "red"}, "colour"),
        ({"metadata": {"a": "b"}, "line_items": [{"price": "price_x", "quantity": 1, "colour": "red"}]},
         "line_items[0][colour]"),
        ({"after_expiration": {"recovery": {"enabled": True, "ttl": 5}}}, "after_expiration[recovery][ttl]"),
    ],
)
def test_unknown_parameter_rejected(door, params, param):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.v1.checkout.sessions.create(params)
    assert caught.value.param == param
    assert caught.value.user_message == f"Received unknown parameter: {param}"
    assert caught.value.code == "parameter_unknown"


def test_unknown_route_is_invalid_request(door):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        door.client.raw_request("get", "/v1/tax_rates_of_mars")
    assert caught.value.http_status == 404
    assert caught.value.user_message.startswith("Unrecognized request URL (GET: /v1/tax_rates_of_mars)")


def test_missing_object_is_resource_missing(door):
    for retrieve, kind in ((door.client.v1.checkout.sessions.retrieve, "checkout.session"),
                           (door.client.v1.payment_links.retrieve, "payment_link"),
                           (door.client.v1.customers.retrieve, "customer")):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            retrieve("x_missing")
        assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")
        assert caught.value.user_message == f"No such {kind}: 'x_missing'"


def test_live_key_refused(door):
    with pytest.raises(stripe.AuthenticationError) as caught:
        door.sdk_client("sk_live_123456789").v1.customers.list()
    assert "test mode only" in caught.value.user_message
    with pytest.raises(stripe.AuthenticationError):
        door.sdk_client("pk_nonsense_key").v1.customers.list()
    assert door.sdk_client("sk_test_other").v1.customers.list().data == []


def test_idempotency_key_replays_and_rejects_other_params(door):
    first = door.client.v1.customers.create({"email": "a@example.test"}, {"idempotency_key": "order-1"})
    again = door.client.v1.customers.create({"email": "a@example.test"}, {"idempotency_key": "order-1"})
    assert again.id == first.id
    assert len(door.client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError):
        door.client.v1.customers.create({"email": "b@example.test"}, {"idempotency_key": "order-1"})
    with pytest.raises(stripe.InvalidRequestError):
        door.client.v1.customers.create({"email": "c@example.test"}, {"idempotency_key": "k" * 256})
    assert door.client.v1.customers.create({"email": "a@example.test"}).id != first.id


@pytest.fixture
def legacy(door):
    saved = (stripe.api_base, stripe.api_key, stripe.default_http_client, stripe.max_network_retries)
    stripe.api_base, stripe.api_key = door.api_base, "sk_test_legacy"
    stripe.default_http_client = door.legacy_http_client()
    stripe.max_network_retries = 0
    yield door
    stripe.api_base, stripe.api_key, stripe.default_http_client, stripe.max_network_retries = saved


def test_legacy_class_methods_work(legacy, price):
    session = stripe.checkout.Session.create(
        mode="payment", line_items=[{"price": price.id, "quantity": 1}], metadata={"order_id": "ord_3"}
    )
    assert stripe.checkout.Session.retrieve(session.id).metadata["order_id"] == "ord_3"
    assert stripe.checkout.Session.expire(session.id).status == "expired"
    link = stripe.PaymentLink.create(line_items=[{"price": price.id, "quantity": 1}])
    assert stripe.PaymentLink.modify(link.id, active=False).active is False
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe.checkout.Session.create(mode="payment", line_items=[{"price": price.id, "quantity": 1}],
                                       expires_at=legacy.now() + 30 * DAY)
    assert caught.value.param == "expires_at"


# -- an Idempotency-Key in flight (issue 17) -------------------------------------------------------

def _customers(door: Any) -> int:
    return len(door.client.v1.customers.list({"limit": 100}).data)


def test_idempotency_key_in_flight_is_409_then_replays(door):
    """A request whose answer is still held (injected latency: the key is in flight) makes a second request
    with the same key fail with 409 idempotency_key_in_use and create nothing; after the first has answered,
    the key replays its response."""
    door.set_faults(route="POST /v1/customers", latency_ms=1500)
    first: dict[str, Any] = {}

    def create() -> None:
        first["customer"] = door.client.v1.customers.create({"email": "a@example.test"}, {"idempotency_key": "k-1"})

    holder = threading.Thread(target=create)
    holder.start()
    while _customers(door) == 0:  # the first request has executed and now holds its answer for 1.5 s
        assert holder.is_alive()
        threading.Event().wait(0.005)
    with pytest.raises(stripe.APIError) as caught:  # stripe-python raises APIError for a v1 409
        door.client.v1.customers.create({"email": "a@example.test"}, {"idempotency_key": "k-1"})
    holder.join(timeout=10)
    assert caught.value.http_status == 409 and caught.value.error.code == "idempotency_key_in_use"
    assert caught.value.error.type == "idempotency_error"
    assert "another in-progress request" in caught.value.user_message
    assert caught.value.headers.get("Stripe-Should-Retry") is None  # the SDK's own 409 rule applies
    door.set_faults(clear=True)
    replayed = door.client.v1.customers.create({"email": "a@example.test"}, {"idempotency_key": "k-1"})
    assert replayed.id == first["customer"].id and replayed.last_response.headers.get("Idempotent-Replayed") == "true"
    assert _customers(door) == 1


def test_simultaneous_requests_with_one_key_create_one_object(door):
    """Threads sending one key at once: exactly one executes; each other gets its replay or a 409."""
    clients = [door.sdk_client("sk_test_conformance") for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    outcomes: list[Any] = [None] * len(clients)

    def create(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = clients[i].v1.customers.create({"email": "b@example.test"}, {"idempotency_key": "k-2"}).id
        except stripe.APIError as exc:
            outcomes[i] = exc.error.code

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    ids = {o for o in outcomes if o != "idempotency_key_in_use"}
    assert len(ids) == 1 and None not in ids
    assert _customers(door) == 1
    assert door.client.v1.customers.create({"email": "b@example.test"}, {"idempotency_key": "k-2"}).id in ids


def test_a_request_refused_before_executing_neither_stores_nor_holds_its_key(door):
    with pytest.raises(stripe.InvalidRequestError):  # parameters fail validation: nothing stored, key not held
        door.client.v1.customers.create({"bogus_param": "1"}, {"idempotency_key": "k-3"})  # type: ignore[typeddict-unknown-key]
    assert door.client.v1.customers.create({"email": "c@example.test"}, {"idempotency_key": "k-3"}).id

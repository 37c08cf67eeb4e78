"""Call styles the scanner must recognise on code it has never seen."""

from __future__ import annotations

import pytest

from blastpay.scanner import scan

CALL_STYLES = {
    "module alias": """
import stripe as s

def make(order):
    return s.checkout.Session.create(mode="payment")  # HERE
""",
    "from stripe import checkout": """
from stripe import checkout

def make(order):
    return checkout.Session.create(mode="payment")  # HERE
""",
    "class alias": """
from stripe.checkout import Session as CS

def make(order):
    return CS.create(mode="payment")  # HERE
""",
    "client in a local": """
import stripe

def make(order):
    client = stripe.StripeClient("sk_test")
    return client.v1.checkout.sessions.create(params={"mode": "payment"})  # HERE
""",
    "client from a factory function": """
from stripe import StripeClient

def get_client():
    return StripeClient("sk_test")

def make(order):
    return get_client().v1.checkout.sessions.create(params={})  # HERE
""",
    "client as annotated parameter": """
from stripe import StripeClient

def make(client: StripeClient, order):
    return client.v1.checkout.sessions.create(params={})  # HERE
""",
    "client stored on self in a base class": """
import stripe

class Base:
    def __init__(self):
        self._stripe = stripe.StripeClient("sk_test")

class Fees(Base):
    def open(self):
        return self._stripe.v1.checkout.sessions.create(params={})  # HERE
""",
    "class attribute bound to legacy resource": """
import stripe

class Checkout:
    resource = stripe.checkout.Session

    def open(self):
        return self.resource.create(mode="payment")  # HERE
""",
    "async create": """
import stripe

async def make():
    return await stripe.checkout.Session.create_async(mode="payment")  # HERE
""",
}


@pytest.mark.parametrize("style", sorted(CALL_STYLES))
def test_each_call_style_is_one_direct_create(tmp_path, write_repo, style):
    source = CALL_STYLES[style].lstrip("\n")
    write_repo(tmp_path, {"app/pay.py": source})
    line = next(i for i, text in enumerate(source.splitlines(), 1) if "# HERE" in text)
    creates = scan(tmp_path).of_kind("session_create")
    assert [(s.file, s.line) for s in creates] == [("app/pay.py", line)]
    assert creates[0].detail["via_wrapper"] is False


def test_client_imported_from_another_module_global(tmp_path, write_repo):
    write_repo(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/deps.py": "from stripe import StripeClient\nstripe_client = StripeClient('sk_test')\n",
        "pkg/fees.py": "from .deps import stripe_client\n\ndef open_fee():\n    return stripe_client.v1.checkout.sessions.create(params={})\n",
    })
    creates = scan(tmp_path).of_kind("session_create")
    assert [(s.file, s.line, s.symbol) for s in creates] == [("pkg/fees.py", 4, "open_fee")]


def test_wrappers_followed_across_modules_methods_and_aliases(tmp_path, write_repo):
    write_repo(tmp_path, {
        "shop/__init__.py": "",
        "shop/helpers.py": "import stripe\n\ndef mint(o):\n    return stripe.checkout.Session.create(metadata={'order_id': o})\n",
        "shop/service.py": "from shop.helpers import mint as m\n\nclass Svc:\n    def pay(self, o):\n        return m(o)\n\n    def pay_twice(self, o):\n        return self.pay(o)\n",
        "shop/jobs.py": "from shop import service\n\ndef nightly(o):\n    svc = service.Svc()\n    return svc.pay_twice(o)\n",
    })
    creates = {(s.file, s.symbol): s.detail["chain"] for s in scan(tmp_path).of_kind("session_create")}
    assert creates == {
        ("shop/helpers.py", "mint"): ["stripe.checkout.Session.create"],
        ("shop/service.py", "Svc.pay"): ["shop.helpers.mint", "stripe.checkout.Session.create"],
        ("shop/service.py", "Svc.pay_twice"): ["shop.service.Svc.pay", "shop.helpers.mint", "stripe.checkout.Session.create"],
        ("shop/jobs.py", "nightly"): ["shop.service.Svc.pay_twice", "shop.service.Svc.pay", "shop.helpers.mint",
                                      "stripe.checkout.Session.create"],
    }


def test_lookalikes_are_not_creates(tmp_path, write_repo):
    write_repo(tmp_path, {"app/other.py": """
import stripe
from sqlalchemy.orm import Session
from myorm import checkout


class Session2:
    def create(self):
        return 1


def f(db: Session):
    stripe.PaymentIntent.create(amount=1)
    stripe.PaymentLink.create(line_items=[])
    stripe.checkout.Session.retrieve("cs_1")
    Session.create()
    checkout.Session.create()
    Session2().create()
    "stripe.checkout.Session.create"
"""})
    assert scan(tmp_path).of_kind("session_create") == []


def test_recursive_wrappers_terminate(tmp_path, write_repo):
    write_repo(tmp_path, {"a.py": """
import stripe

def ping(n):
    if n:
        return pong(n - 1)
    return stripe.checkout.Session.create()

def pong(n):
    return ping(n)
"""})
    chains = {s.symbol: s.detail["chain"] for s in scan(tmp_path).of_kind("session_create") if s.symbol == "pong"}
    assert chains == {"pong": ["a.ping", "stripe.checkout.Session.create"]}


@pytest.mark.parametrize("expr, label, within", [
    ("int(time.time()) + 3600", "now + 1 hour", True),
    ("int((datetime.now(timezone.utc) + timedelta(hours=23, minutes=30)).timestamp())", "now + 1410 minutes", True),
    ("int(time.time()) + TTL", "now + 2 days", False),
    ("int(time.time()) + 60 * 10", "now + 10 minutes", False),
    ("1767225600", "constant timestamp", None),
    ("deadline", "unknown (parameter deadline)", None),
])
def test_expires_at_classification(tmp_path, write_repo, expr, label, within):
    write_repo(tmp_path, {"m.py": f"""
import time
from datetime import datetime, timedelta, timezone
import stripe

TTL = timedelta(days=2).total_seconds()

def make(deadline):
    return stripe.checkout.Session.create(expires_at={expr})
"""})
    (site,) = scan(tmp_path).of_kind("expires_at")
    assert site.detail["source"] == expr
    assert site.detail["classification"] == label
    assert site.detail["within_stripe_limits"] is within


def test_url_stored_on_a_model_and_emailed_elsewhere(tmp_path, write_repo):
    write_repo(tmp_path, {
        "a.py": "import stripe\n\ndef mint(order):\n    s = stripe.checkout.Session.create()\n    order.pay_here = s.url\n",
        "b.py": "def remind(order, mailer):\n    mailer.send_mail(order.email, body=f'Pay: {order.pay_here}')\n",
    })
    flows = [(s.file, s.line, s.symbol) for s in scan(tmp_path).of_kind("url_flow")]
    assert flows == [("b.py", 2, "remind")]


def test_webhook_handlers_found_through_event_constants_and_dispatch_dicts(tmp_path, write_repo):
    write_repo(tmp_path, {
        "hooks/__init__.py": "",
        "hooks/events.py": "PAID = ('checkout.session.completed', 'checkout.session.async_payment_succeeded')\n",
        "hooks/web.py": """
from hooks.events import PAID


def order_from(obj):
    return obj["metadata"]["order_id"]


def on_paid(obj):
    return order_from(obj)


def on_expired(obj):
    return obj.get("client_reference_id")


HANDLERS = {"checkout.session.expired": on_expired}


def receive(event):
    if event["type"] in PAID:
        return on_paid(event["data"]["object"])
    return HANDLERS[event["type"]](event["data"]["object"])


def unrelated(event):
    return {"type": "checkout.session.completed"}
""",
    })
    hooks = {s.symbol: s.detail for s in scan(tmp_path).of_kind("webhook_handler")}
    assert set(hooks) == {"receive", "on_paid", "on_expired"}
    assert hooks["on_paid"]["events"] == ["checkout.session.async_payment_succeeded", "checkout.session.completed"]
    assert hooks["on_paid"]["matches_on"] == ["metadata.order_id"]
    assert hooks["on_expired"]["matches_on"] == ["client_reference_id"]
    assert hooks["receive"]["role"] == "dispatcher"


def test_template_strings_mentioning_link_names_are_not_url_variables(tmp_path, write_repo):
    write_repo(tmp_path, {"t/a.html": '{{ labels["payment_link_per_order"] }}\n<a href="{{ stripe_checkout_url }}">x</a>\n'})
    sites = [(s.line, s.detail["variables"]) for s in scan(tmp_path).of_kind("template")]
    assert sites == [(2, ["stripe_checkout_url"])]

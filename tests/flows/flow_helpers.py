"""Shared helpers for the flow tests."""

from blastpay.flows.order_models import OrderSpec

HOUR, DAY = 3600, 86400


def spec(player_id=1, amount=15000, product_id="utah-invitational-2026", parent_id=111):
    return OrderSpec(parent_id=parent_id, player_id=player_id, product_id=product_id, amount=amount, currency="usd")


def completed_sessions(flow, order_id):
    return [s for s in flow.stripe_sessions(order_id) if s.status == "complete"]

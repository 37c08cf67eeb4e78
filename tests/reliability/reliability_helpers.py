"""Constants and builders shared by the reliability tests (a module of its own: test files import it by name)."""

from blastpay.flows.order_models import OrderSpec

HOUR, DAY = 3600, 86400
POSTGRES_ENV = "DATABASE_URL_POSTGRES"


def spec(player_id=1, amount=15000, product_id="utah-invitational-2026", parent_id=111):
    return OrderSpec(parent_id=parent_id, player_id=player_id, product_id=product_id, amount=amount, currency="usd")

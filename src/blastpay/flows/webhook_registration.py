"""One Stripe webhook endpoint per app instance, kept across restarts.

An instance is its public URL: the endpoint is ``<base URL>/webhooks/stripe``. Stripe shows an endpoint's
signing secret only when it is created, so the app keeps the endpoint's id and secret in its own database
(table ``webhook_endpoint_secrets``). At each start:

- the kept endpoint still exists at Stripe with this URL: it is updated (events enabled, re-enabled if it was
  disabled) and its kept secret used. Deliveries Stripe is still retrying from before the restart reach the
  app and verify;
- otherwise every endpoint at this URL that carries this app's metadata, or that was left by a run that kept
  no secret, is deleted (the app could not verify what they deliver), and one endpoint is created and kept.

So restarts never pile endpoints up against Stripe's limit of 16.
"""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.engine import Engine

APP_METADATA = {"blastpay_app": "lazy-mint"}

_metadata = MetaData()
SECRETS = Table(
    "webhook_endpoint_secrets", _metadata,
    Column("url", String(2000), primary_key=True),
    Column("endpoint_id", String(255), nullable=False),
    Column("secret", String(255), nullable=False),
)


def _kept(engine: Engine, url: str) -> tuple[str, str] | None:
    with engine.connect() as conn:
        row = conn.execute(select(SECRETS.c.endpoint_id, SECRETS.c.secret).where(SECRETS.c.url == url)).first()
    return (row[0], row[1]) if row is not None else None


def _keep(engine: Engine, url: str, endpoint_id: str, secret: str) -> None:
    with engine.begin() as conn:
        conn.execute(SECRETS.delete().where(SECRETS.c.url == url))
        conn.execute(SECRETS.insert().values(url=url, endpoint_id=endpoint_id, secret=secret))


def _existing(client: stripe.StripeClient, endpoint_id: str) -> Any | None:
    try:
        return client.v1.webhook_endpoints.retrieve(endpoint_id)
    except stripe.InvalidRequestError:  # deleted, or another Stripe account (e.g. a fresh emulator)
        return None


def register_endpoint(client: stripe.StripeClient, engine: Engine, url: str, enabled_events: list[str]) -> str:
    """The signing secret of this instance's endpoint at ``url``: the kept one, updated, or a new one."""
    _metadata.create_all(engine)
    kept = _kept(engine, url)
    if kept is not None:
        endpoint = _existing(client, kept[0])
        if endpoint is not None and endpoint.url == url:
            client.v1.webhook_endpoints.update(kept[0], {"enabled_events": enabled_events, "disabled": False,  # type: ignore[arg-type]
                                                          "metadata": APP_METADATA})
            return kept[1]
    for endpoint in client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
        mine = endpoint.metadata == APP_METADATA or not endpoint.metadata
        if endpoint.url == url and mine:
            client.v1.webhook_endpoints.delete(endpoint.id)
    created = client.v1.webhook_endpoints.create({"url": url, "enabled_events": enabled_events,  # type: ignore[typeddict-item]
                                                  "metadata": APP_METADATA})
    _keep(engine, url, created.id, created.secret or "")
    return created.secret or ""

"""Deferred Stripe calls: retire the links and sessions of an order that was paid another way,
canceled, or changed. Queued inside the transaction that made them necessary, run afterwards by a
worker (``run_tasks``), so no request or webhook waits on Stripe for them. A task that fails keeps
its error and is retried on the next run."""

from __future__ import annotations

from collections.abc import Callable

import stripe

from blastpay.flows.email_link import stripe_error_text
from blastpay.flows.orders import OrderStore


def _expire_open_sessions_of(client: stripe.StripeClient, link_id: str) -> None:
    for session in client.v1.checkout.sessions.list({"payment_link": link_id, "status": "open",
                                                     "limit": 100}).auto_paging_iter():
        client.v1.checkout.sessions.expire(session.id)


def retire(client: stripe.StripeClient, action: str, stripe_id: str) -> None:
    if action == "deactivate_link":
        # Deactivating stops new visits; sessions the link already opened stay payable, so expire them too.
        client.v1.payment_links.update(stripe_id, {"active": False})
        _expire_open_sessions_of(client, stripe_id)
    elif action == "expire_link_sessions":
        # Stripe deactivated the link at its completed_sessions limit; a second tab's session stays payable.
        _expire_open_sessions_of(client, stripe_id)
    elif action == "expire_session":
        session = client.v1.checkout.sessions.retrieve(stripe_id)
        if session.status == "open":
            client.v1.checkout.sessions.expire(stripe_id)
    else:
        raise ValueError(f"unknown Stripe task action {action!r}")


def run_tasks(store: OrderStore, client: stripe.StripeClient, clock: Callable[[], int]) -> dict[str, int]:
    """Run every pending task once; returns counts of done and failed."""
    done = failed = 0
    for task in store.pending_tasks():
        try:
            retire(client, task.action, task.stripe_id)
        except stripe.StripeError as exc:
            store.finish_task(task.id, now=clock(), error=stripe_error_text(exc))
            failed += 1
            continue
        store.finish_task(task.id, now=clock())
        done += 1
    return {"done": done, "failed": failed}

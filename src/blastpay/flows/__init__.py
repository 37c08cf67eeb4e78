"""The three email-blast checkout primitives as working flows over the Stripe SDK.

- ``orders``: the order store (SQLAlchemy).
- ``checkout_session``: the blessed Checkout Session helper.
- ``webhook_matcher``: ``POST /webhooks/stripe``, matching payments to orders exactly once.
- ``payment_link``: option 1, Payment Links per order or per product.
- ``tokens`` and ``lazy_mint``: option 2, ``GET /pay/{order_token}`` minting a session on click.
- ``ttl``: option 3, a session minted at blast time (30 days: refused; 24 h; 24 h with recovery).
- ``harness``: one interface over every variant for experiments (``build_flow``).
"""

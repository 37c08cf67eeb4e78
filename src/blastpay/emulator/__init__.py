"""A stateful, clock-driven Stripe emulator for the real ``stripe`` SDK.

One backend behind two doors: in process (``Emulator.client()``, an SDK HTTP client with no sockets)
and over loopback HTTP (``Emulator.serve()`` / ``blastpay sandbox serve``). Laid out as moto lays out a
fake cloud service, one idea per module:

- ``sandbox``: ``Emulator``, the in-process door and the control API as plain calls;
- ``backend``: stores, the simulated clock, ids, idempotency records, listing; with one module per
  resource mixed in: ``products`` (and prices), ``customers``, ``checkout``, ``payment_links``,
  ``payment_intents``, ``subscriptions`` (and ``invoices``, renewed by the clock), ``tax`` (registrations,
  automatic tax), ``events`` (and webhook endpoints); ``hosted`` (what a parent sees at a URL),
  ``delivery`` (webhook queueing, retries, the log);
- ``shapes``: Stripe's object shapes (templates checked against Stripe's fixtures in ``reference/``);
- ``schemas`` / ``params`` / ``sdk_params``: what each route accepts, checked against the SDK's classes;
- ``urls``: the route table; ``wire``: auth, faults, form decoding, idempotency, JSON, expansion;
- ``server``: the HTTP door (uvicorn with limits); ``transport``: the in-process door; ``pages``: HTML;
- ``rules``: every Stripe behaviour enforced, with its source and test (renders docs/stripe-behaviour.md).
"""
from blastpay.emulator.errors import EmulatorError
from blastpay.emulator.sandbox import Emulator
from blastpay.emulator.server import ServerHandle, serve_main

__all__ = ["Emulator", "EmulatorError", "ServerHandle", "serve_main"]

"""A stateful, clock-driven Stripe emulator for the real ``stripe`` SDK.

One implementation (``state``) behind two doors: in process (``Emulator.client()``,
an SDK HTTP client with no sockets) and over loopback HTTP (``Emulator.serve()`` /
``blastpay sandbox serve``). See ``rules.py`` for every Stripe behaviour it enforces.
"""
from .control import Emulator
from .errors import EmulatorError
from .server import ServerHandle, serve_main

__all__ = ["Emulator", "EmulatorError", "ServerHandle", "serve_main"]

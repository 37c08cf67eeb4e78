"""Compatibility for older imports: the backend lives in ``backend.py``, one module per resource beside it."""
from blastpay.emulator.backend import Backend
from blastpay.emulator.common import API_VERSION, CLIENT_REFERENCE_ID, EMAIL

__all__ = ["API_VERSION", "Backend", "CLIENT_REFERENCE_ID", "EMAIL"]

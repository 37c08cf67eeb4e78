"""Seeded identifiers: the same seed and the same calls give the same ids."""
from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_letters + string.digits


class IdGenerator:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token(self, length: int = 24) -> str:
        return "".join(self._random.choices(_ALPHABET, k=length))

    def new(self, prefix: str, length: int = 24) -> str:
        """An id such as ``cs_test_a1B2...`` for prefix ``cs_test``."""
        return f"{prefix}_{self.token(length)}"

    def hex(self, length: int = 32) -> str:
        return "".join(self._random.choices("0123456789abcdef", k=length))

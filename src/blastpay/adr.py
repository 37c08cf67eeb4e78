"""Builds the ADR's template context from the evidence tree and the sources registry."""

from __future__ import annotations

from typing import Any

from . import config
from .approval import approval_context
from .pipeline import evidence_hash
from .render import Citations, EvidenceView
from .sources import Registry


def adr_context(ev: EvidenceView, registry: Registry) -> dict[str, Any]:
    params = config.load_run_params()
    return {
        "ev": ev,
        "cite": Citations(registry),
        "registry": registry,
        "as_of": params.as_of.isoformat(),
        "evidence_hash": evidence_hash(ev.root),
        "facts": ev("stripe-facts/facts.json"),
        **approval_context(ev.root),
    }

"""The fault list every variant runs (``experiments/faults.yaml``): parents' click times, the horizon, the return
and response assumptions, and each fault as an outage with a start and a duration, or a scenario."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blastpay.config import ConfigError
from blastpay.sources.inputs import load_input
from blastpay.sources.schema.faults import FaultPlanInput


@dataclass(frozen=True)
class FaultPlan:
    first_click_hours: tuple[float, ...]
    horizon_hours: float
    probe_every_hours: float
    error_return_after_hours: float
    reminder_click_after_hours: float
    error_return_share: float
    error_return_sweep: tuple[float, ...]
    reminder_response_share: float
    faults: dict[str, dict[str, Any]]

    @classmethod
    def from_input(cls, plan: FaultPlanInput, raw: dict[str, Any]) -> "FaultPlan":
        """The validated plan; each fault's spec is its mapping as read (what a cell's fault_spec shows)."""
        return cls(tuple(plan.first_click_hours), plan.horizon_hours, plan.probe_every_hours,
                   plan.error_return_after_hours, plan.reminder_click_after_hours, plan.error_return_share.central,
                   tuple(plan.error_return_share.sweep), plan.reminder_response_share,
                   {str(k): dict(v or {}) for k, v in raw["faults"].items()})


def load_plan(path: Path) -> FaultPlan:
    """experiments/faults.yaml, checked against `schema.faults.FaultPlanInput`."""
    plan, doc = load_input(path, FaultPlanInput, "fault list", ConfigError)
    return FaultPlan.from_input(plan, doc.data)


# Incidents after which a parent may have met an error page: our server or its database down, Stripe's API or its
# hosted pages down, a wrong key. After one of these the policy re-sends to every pending order.
ERROR_PAGE_INCIDENT_KEYS = ("server", "database", "stripe_api", "stripe_pages", "wrong_token_key", "stripe_secret_key")


def shows_error_pages(spec: dict[str, Any]) -> bool:
    return any(k in spec for k in ERROR_PAGE_INCIDENT_KEYS)

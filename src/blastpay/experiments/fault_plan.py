"""The fault list every variant runs (``experiments/faults.yaml``): parents' click times, the horizon, the return
and response assumptions, and each fault as an outage with a start and a duration, or a scenario."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blastpay.config import ConfigError
from blastpay.sources.inputs import read_mapping


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
    def from_mapping(cls, d: dict[str, Any], where: str = "faults") -> "FaultPlan":
        try:
            plan = cls(
                first_click_hours=tuple(float(h) for h in d["first_click_hours"]),
                horizon_hours=float(d["horizon_hours"]),
                probe_every_hours=float(d["probe_every_hours"]),
                error_return_after_hours=float(d["error_return_after_hours"]),
                reminder_click_after_hours=float(d["reminder_click_after_hours"]),
                error_return_share=float(d["error_return_share"]["central"]),
                error_return_sweep=tuple(float(x) for x in d["error_return_share"]["sweep"]),
                reminder_response_share=float(d["reminder_response_share"]),
                faults={str(k): dict(v or {}) for k, v in d["faults"].items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc!r}") from exc
        if "none" not in plan.faults:
            raise ConfigError(f"{where}: the fault list needs the `none` baseline")
        return plan


def load_plan(path: Path) -> FaultPlan:
    return FaultPlan.from_mapping(read_mapping(path, ConfigError, "fault list"), str(path))


def load_plan(path: Path) -> FaultPlan:
    return FaultPlan.from_mapping(read_mapping(path, ConfigError, "fault list"), str(path))


# Incidents after which a parent may have met an error page: our server or its database down, Stripe's API or its
# hosted pages down, a wrong key. After one of these the policy re-sends to every pending order.
ERROR_PAGE_INCIDENT_KEYS = ("server", "database", "stripe_api", "stripe_pages", "wrong_token_key", "stripe_secret_key")


def shows_error_pages(spec: dict[str, Any]) -> bool:
    return any(k in spec for k in ERROR_PAGE_INCIDENT_KEYS)

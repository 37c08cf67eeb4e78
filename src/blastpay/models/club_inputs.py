"""The decision's committed inputs, read through their models (``sources.schema.club``): the club's numbers
(``experiments/club.yaml``), how often each fault happens (``experiments/likelihood.yaml``) and what each kind of
migration step takes (``experiments/effort.yaml``). A bad value is one line naming file:line and the key."""

from __future__ import annotations

from pathlib import Path

from blastpay.config import ConfigError
from blastpay.sources.inputs import load_input
from blastpay.sources.schema.club import ClubInput, EffortInput, LikelihoodInput


class DecisionInputError(ConfigError):
    """A decision input is missing, malformed or inconsistent (one line, file:line)."""


def load_club(path: Path) -> ClubInput:
    return load_input(path, ClubInput, "club file", DecisionInputError)[0]


def load_likelihood(path: Path, faults: list[str]) -> LikelihoodInput:
    """likelihood.yaml, with exactly one entry per fault of the fault list."""
    like, doc = load_input(path, LikelihoodInput, "likelihood file", DecisionInputError)
    missing = [f for f in faults if f not in like.faults]
    extra = [f for f in like.faults if f not in faults]
    if missing or extra:
        parts = ([f"missing an entry for fault(s) {', '.join(missing)}"] if missing else []) + (
            [f"fault(s) {', '.join(extra)} are not in experiments/faults.yaml"] if extra else [])
        raise DecisionInputError(f"{doc.where('faults', *(extra[:1]))}: faults: {'; '.join(parts)}")
    return like


def load_effort(path: Path) -> EffortInput:
    """effort.yaml: the unit of every kind of step (all kinds, no other), the steps each option and every option
    needs beyond its moving parts."""
    from blastpay.models.effort import EffortError, check_unit_days

    effort, doc = load_input(path, EffortInput, "effort file", DecisionInputError)
    try:
        check_unit_days(effort.unit_days, str(path))
    except EffortError as exc:
        raise DecisionInputError(f"{doc.where('unit_days')}: {str(exc).split(': ', 1)[1]}") from None
    return effort



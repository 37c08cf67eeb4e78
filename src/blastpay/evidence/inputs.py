"""Every committed input, read through its one loader and validated before the first notebook starts.

A malformed or inconsistent input stops `blastpay evidence` (and `blastpay check`) at once with one line that
names the file, the line where the reader can tell, and what is expected; nothing is written. Each loader is
the same function the notebooks call, so what is validated here is what is used there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from blastpay import config
from blastpay.config import ConfigError


class InputError(ConfigError):
    """A committed input is missing, malformed or inconsistent."""


def _wrap(path: Path, check: Callable[[], Any]) -> Any:
    """Run a loader; its errors become InputError naming the file (messages that already name it are kept)."""
    try:
        return check()
    except InputError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        if isinstance(exc, KeyError):
            text = f"missing {text!r}"
        message = text if text.startswith(str(path)) else f"{path}: {text}"
        raise InputError(message.splitlines()[0]) from None


def check_latency_scenarios(path: Path, registry: Any) -> None:
    from blastpay.models.latency import SCENARIOS, evaluate_expression, load_scenarios
    from blastpay.sources.inputs import read_document

    cfg = _wrap(path, lambda: load_scenarios(path))
    doc = read_document(path, InputError, "latency scenarios file")
    missing = [s for s in SCENARIOS if s not in cfg["scenarios"]]
    if missing:
        raise InputError(f"{doc.where('scenarios')}: scenario {missing[0]!r} missing (expected {', '.join(SCENARIOS)}; "
                         f"found {', '.join(cfg['scenarios'])})")
    for name, scenario in cfg["scenarios"].items():
        for i, target in enumerate(scenario["targets"]):
            value = target.get("value") if isinstance(target, dict) else None
            try:
                share = evaluate_expression(registry, value)
            except Exception as exc:  # an unknown source id, a malformed expression
                raise InputError(f"{doc.where('scenarios', name, 'targets', i)}: target of scenario {name!r}: "
                                 f"{str(exc).splitlines()[0]}") from None
            if not 0 < share < 1:
                raise InputError(f"{doc.where('scenarios', name, 'targets', i)}: target of scenario {name!r} gives share "
                                 f"{share}, expected between 0 and 1")


def check_decision_inputs(experiments: Path) -> None:
    """The decision's inputs: the club's numbers, one likelihood per fault of the fault list, the unit efforts."""
    from blastpay.experiments.fault_plan import load_plan
    from blastpay.models.club_inputs import load_club, load_effort, load_likelihood

    faults_path = experiments / "faults.yaml"
    plan = _wrap(faults_path, lambda: load_plan(faults_path))
    load_club(experiments / "club.yaml")
    load_likelihood(experiments / "likelihood.yaml", list(plan.faults))
    load_effort(experiments / "effort.yaml")


def check_call_sites(path: Path) -> None:
    from blastpay.scanner.inventory import load_inventory
    from blastpay.scanner.migration import OPTIONS, site_change
    from blastpay.sources.inputs import read_document

    _wrap(path, lambda: load_inventory(path))
    doc = read_document(path, InputError, "call-site inventory")
    raw_sites = doc.data.get("sites") or []
    inventory = load_inventory(path)
    by_key = {(s.kind, s.file, s.line, s.symbol): s for s in inventory.sites}
    for i, raw in enumerate(raw_sites):
        site = by_key[(raw["kind"], raw.get("file"), raw.get("line"), raw.get("symbol"))]
        given = raw.get("changes")
        if given is None:
            continue
        derived = {option: site_change(site, option) for option in OPTIONS}
        if json.loads(json.dumps(given)) != json.loads(json.dumps(derived)):
            option = next((o for o in OPTIONS if given.get(o) != derived.get(o)), sorted(given)[0])
            raise InputError(
                f"{doc.where('sites', i, 'changes', option)}: sites[{i}].changes.{option} differs from what the scanner "
                "derives for this site; `changes` are computed, not read: change the site's kind or detail, or the "
                "rules in src/blastpay/scanner/migration.py, then rescan (`blastpay scan PATH --out experiments/call_sites.json`)"
            )


def _policy_loader() -> Callable[[Path], Any] | None:
    try:
        from blastpay.flows.mitigations import load_policy
    except ImportError:
        return None
    return load_policy


def validate_inputs(root: Path | None = None) -> None:
    """Load and check every committed input under root/experiments; raise InputError on the first problem."""
    from blastpay.experiments.parameters import load_blast_params, load_cohort
    from blastpay.models.fees import load_fee_params
    from blastpay.sources.registry import load_registry

    experiments = (root or config.ROOT) / "experiments"
    config.load_run_params(experiments / "run.yaml")
    registry = load_registry(experiments / "sources")
    fees_path = experiments / "fees.yaml"
    _wrap(fees_path, lambda: load_fee_params(fees_path))
    blast_path = experiments / "blast.yaml"
    _wrap(blast_path, lambda: load_blast_params(blast_path))
    cohort_path = experiments / "cohort.yaml"
    _wrap(cohort_path, lambda: load_cohort(cohort_path, fees_path))
    check_latency_scenarios(experiments / "latency_scenarios.yaml", registry)
    check_decision_inputs(experiments)
    check_call_sites(experiments / "call_sites.json")
    load_policy = _policy_loader()
    policy_path = experiments / "mitigations.yaml"
    if load_policy is not None and policy_path.exists():
        _wrap(policy_path, lambda: load_policy(policy_path))

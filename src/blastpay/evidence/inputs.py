"""Every committed input, read through its one loader and validated before the first notebook starts.

A malformed, out-of-range or inconsistent input stops `blastpay evidence` (and `blastpay check`) at once with one
line that names the file, the line, and what is expected; nothing is written. Each file is checked against its
model (`blastpay.sources.schema`) by the same loader the notebooks call, then against what the models cannot see
alone: the registry ids a latency target cites, the metrics the weights name, the changes the call-site inventory
states, and dates against the pinned as-of date of experiments/run.yaml.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from blastpay import config
from blastpay.sources.inputs import InputError, load_input, read_document

__all__ = ["InputError", "validate_inputs"]


def check_latency_scenarios(path: Path, registry: Any) -> None:
    from blastpay.models.latency import SCENARIOS, evaluate_expression, load_scenarios

    cfg = load_scenarios(path)
    doc = read_document(path, "latency scenarios file")
    missing = [s for s in SCENARIOS if s not in cfg["scenarios"]]
    if missing:
        raise InputError(f"{doc.where('scenarios')}: scenario {missing[0]!r} missing (expected {', '.join(SCENARIOS)}; "
                         f"found {', '.join(cfg['scenarios'])})")
    for name, scenario in cfg["scenarios"].items():
        for i, target in enumerate(scenario["targets"]):
            where = doc.where("scenarios", name, "targets", i)
            try:
                share = evaluate_expression(registry, target["value"])
            except Exception as exc:  # an unknown source id, a figure in the wrong unit
                raise InputError(f"{where}: target of scenario {name!r}: {str(exc).splitlines()[0]}") from None
            if not 0 < share < 1:
                raise InputError(f"{where}: target of scenario {name!r} gives share {share:g}, expected between 0 and 1")
        where = doc.where("scenarios", name, "second_email_response")
        try:
            expr = scenario["second_email_response"]
            factor = evaluate_expression(registry, expr)
        except Exception as exc:
            raise InputError(f"{where}: second_email_response of scenario {name!r}: {str(exc).splitlines()[0]}") from None
        if not 0 < factor <= 1:
            raise InputError(f"{where}: second_email_response of scenario {name!r} gives {factor:g}, "
                             "expected above 0 and at most 1")


def check_decision_inputs(experiments: Path, registry: Any) -> None:
    """The decision's inputs: the club's numbers, one likelihood per fault of the fault list (each component's
    availability source in the registry, with a share figure), the unit efforts."""
    from blastpay.experiments.fault_plan import load_plan
    from blastpay.models.club_inputs import DecisionInputError, load_club, load_effort, load_likelihood

    plan = load_plan(experiments / "faults.yaml")
    load_club(experiments / "club.yaml")
    like = load_likelihood(experiments / "likelihood.yaml", list(plan.faults))
    doc = read_document(experiments / "likelihood.yaml", "likelihood file")
    for name, component in like.components.items():
        sid = component.availability_source
        if sid is None:
            continue
        try:
            share = registry.figure_in(sid, "share")
        except Exception as exc:  # an unknown id, a figure without a share unit
            raise DecisionInputError(f"{doc.where('components', name)}: components.{name}.availability_source: "
                                     f"{str(exc).splitlines()[0]}") from None
        if not 0 < share <= 1:
            raise DecisionInputError(f"{doc.where('components', name)}: components.{name}: source {sid!r} gives "
                                     f"availability {share}, expected above 0 and at most 1")
    load_likelihood(experiments / "likelihood.yaml", list(plan.faults))
    load_effort(experiments / "effort.yaml")


def check_call_sites(path: Path) -> None:
    from blastpay.scanner.inventory import load_inventory
    from blastpay.scanner.migration import OPTIONS, site_change

    inventory = load_inventory(path)
    doc = read_document(path, "call-site inventory")
    by_key = {(s.kind, s.file, s.line, s.symbol): s for s in inventory.sites}
    for i, raw in enumerate(doc.data["sites"]):
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


def check_live_probes(directory: Path, as_of: date) -> None:
    from blastpay.live.errors import LiveProbeError
    from blastpay.live.probe_files import probe_files, read_probe

    for path in probe_files(directory):
        try:
            read_probe(path, as_of)
        except LiveProbeError as exc:
            raise InputError(str(exc)) from None


def validate_inputs(root: Path | None = None) -> None:
    """Load and check every committed input under root (experiments/ and the approval record); raise InputError (or
    a subclass) naming file:line on the first problem."""
    from blastpay.adr.approval import APPROVAL_RECORD, read_record
    from blastpay.experiments.parameters import load_blast_params, load_cohort
    from blastpay.experiments.reliability import load_figures
    from blastpay.models.fees import load_fee_params
    from blastpay.sources.registry import load_registry
    from blastpay.sources.schema.faults import FaultPlanInput
    from blastpay.sources.schema.mitigations import MitigationPolicyInput

    root = root or config.ROOT
    experiments = root / "experiments"
    as_of = config.load_run_params(experiments / "run.yaml").as_of
    registry = load_registry(experiments / "sources", as_of)
    load_fee_params(experiments / "fees.yaml")
    load_blast_params(experiments / "blast.yaml")
    load_cohort(experiments / "cohort.yaml", experiments / "fees.yaml")
    check_latency_scenarios(experiments / "latency_scenarios.yaml", registry)
    check_decision_inputs(experiments, registry)
    load_input(experiments / "mitigations.yaml", MitigationPolicyInput, "mitigation policy")
    load_input(experiments / "faults.yaml", FaultPlanInput, "fault list")
    check_call_sites(experiments / "call_sites.json")
    check_live_probes(experiments / "live", as_of)
    load_figures(root, as_of)
    read_record(root / APPROVAL_RECORD)

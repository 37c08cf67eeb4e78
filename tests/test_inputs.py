"""Every committed input is checked against its model before the first notebook starts: a bad value, a missing key
or an unknown key in any of them stops `blastpay evidence` with one line naming file:line, exit 2, nothing written.

Each case edits one committed file of a scratch copy of the inputs and runs the real command in process (the
repository's paths pointed at the copy; running a notebook would fail the test)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from blastpay import cli, config
from blastpay.evidence import pipeline

HEX = "ab" * 32
PROBE = {
    "format": "blastpay-live-probe/1", "date": "2026-11-26", "recorded_at": "2026-11-26T10:00:00+00:00",
    "target": "stripe", "api_base": "https://api.stripe.com", "key_kind": "sk_test",
    "sdk": {"stripe": "16.1.0", "api_version": "2025-01-01"}, "server_time": 1795000000,
    "objects": {"product": "prod_1", "price": "price_1",
                "payment_links": [{"variant": "per_order", "id": "plink_1", "url": "https://buy.stripe.com/x",
                                   "created": 1795000000}],
                "checkout_sessions": [{"variant": "ttl_24_hours", "id": "cs_1", "created": 1795000000,
                                       "expires_at": 1795080000}]},
    "refusals": {}, "notes": {"basis": "created times"},
    "steps": [{"step": "create_product", "request": {"method": "POST", "path": "/v1/products", "params": {}},
               "response": {"status": 200, "body": {"id": "prod_1"}}}],
    "rechecks": [],
}
APPROVAL = {"approved_by": "Lucas", "approved_at": "2026-11-27T14:03:12Z", "evidence_sha256": HEX}


@dataclass(frozen=True)
class Case:
    file: str  # relative to the scratch root
    old: str  # replaced once by `new` in the file's text ("" replaces the whole file)
    new: str
    line_of: str | None  # the named line is the first line of the edited text containing this (None: line 1)
    says: str  # the message, after "file:line: "

    def __str__(self) -> str:
        return f"{self.file}: {self.says[:40]}"


def case(file: str, old: str, new: str, line_of: str | None, says: str) -> Case:
    return Case(file, old, new, line_of, says)


E = "experiments/"
CASES = [
    # run.yaml
    case(E + "run.yaml", "seed: 489", "seed: -1", "seed: -1", "seed: must be from 0 to"),
    case(E + "run.yaml", "seed: 489", "", "as_of: 2026", "seed: missing"),
    case(E + "run.yaml", "seed: 489", "seed: 489\nsed: 1", "sed:", "sed: unknown key (expected as_of, seed)"),
    # the sources registry
    case(E + "sources/stripe.yaml", "figure: {value: 24, unit: hours}", "figure: {value: .nan, unit: hours}",
         "value: .nan", "[0].figure.value: must be a finite number, got nan"),
    case(E + "sources/stripe.yaml", "  read: 2026-11-26\n", "", "- id: checkout-expires-at-window",
         "[0].read: missing"),
    case(E + "sources/stripe.yaml", "  via: shared", "  vai: shared", "vai:", "[0].vai: unknown key (expected id,"),
    case(E + "sources/stripe.yaml", "read: 2026-11-26", "read: 2026-12-30", "2026-12-30",
         "[0].read: 2026-12-30 is after the pinned as-of date 2026-12-07"),
    case(E + "sources/stripe-pricing.yaml", "{value: 2.9, unit: percent}", "{value: 2.9, unit: percents}", "unit: percents",
         "[0].figure.unit: must be one of"),
    # fees.yaml
    case(E + "fees.yaml", "350.00", ".nan", ".nan", "amounts_usd.tournament_fee: must be a finite number, got nan"),
    case(E + "fees.yaml", "350.00", "-350", "-350", "amounts_usd.tournament_fee: must be above 0 and at most 1e+06"),
    case(E + "fees.yaml", "orders_per_blast: 120", "orders_per_blast: 1000000000000", "orders_per_blast",
         "orders_per_blast: must be from 1 to 1000000"),
    case(E + "fees.yaml", "orders_per_blast: 120", "orders_per_blast: .nan", "orders_per_blast",
         "orders_per_blast: must be a finite number, got nan"),
    case(E + "fees.yaml", "stripe_tax: false", "", "amounts_usd:", "stripe_tax: missing"),
    case(E + "fees.yaml", "stripe_tax: false", "stripe_tax: false\nstripe_taxes: true", "stripe_taxes",
         "stripe_taxes: unknown key (expected amounts_usd,"),
    case(E + "fees.yaml", "ach_debit: 0.0", "ach_debit: 0.5", "payment_method_mix:",
         "payment_method_mix: must add up to 1, got 1.5"),
    # blast.yaml
    case(E + "blast.yaml", "scanner_share: 0.10", "scanner_share: 1.0e+308", "scanner_share",
         "scanner_share: must be from 0 to 1"),
    case(E + "blast.yaml", "scanner_share: 0.10", "scanner_share: 1e308", "scanner_share",
         "scanner_share: must be a number (share of parents behind a mail scanner"),
    case(E + "blast.yaml", "validation_parents: 60", "", "parents:", "validation_parents: missing"),
    case(E + "blast.yaml", "validation_parents: 60", "validation_parents: 60\nparent: 3", "parent: 3",
         "parent: unknown key"),
    # cohort.yaml
    case(E + "cohort.yaml", "return_after_hours: [2, 26]", "return_after_hours: [2, -26]", "return_after_hours",
         "return_after_hours[1]: must be above 0"),
    case(E + "cohort.yaml", "cancels_min: 2", "", "parents:", "cancels_min: missing"),
    case(E + "cohort.yaml", "cancels_min: 2", "cancels_min: 2\ncancels_mean: 3", "cancels_mean", "cancels_mean: unknown key"),
    case(E + "cohort.yaml", "parents: [111, 118, 127]\ncancels_min: 2\ncancels_max: 4",
         "parents: [111, 118, 127, 130]\ncancels_min: 0\ncancels_max: 20", "cancels_max",
         "cancels_max: 194481 combinations of cancel counts to replay; at most 10000"),
    # latency_scenarios.yaml
    case(E + "latency_scenarios.yaml", "p: 0.85", "p: .inf", "p: .inf", "scenarios.optimistic.p: must be a finite number"),
    case(E + "latency_scenarios.yaml", "tolerance: 0.035", "", "target_sd:", "tolerance: missing"),
    case(E + "latency_scenarios.yaml", "{value: getresponse-2019-clicks-1h}", "{value: getresponse-2019-clicks-1h, wieght: 2}",
         "wieght", "scenarios.optimistic.targets[0].wieght: unknown key (expected value, at_hours, weight)"),
    case(E + "latency_scenarios.yaml", "{value: getresponse-2019-clicks-1h}", "{value: getresponse-2019-clicks-1m}",
         "clicks-1m", "target of scenario 'optimistic': unknown source id 'getresponse-2019-clicks-1m'"),
    # club.yaml
    case(E + "club.yaml", "fee_usd: 200.00", "fee_usd: .nan", "fee_usd:", "volumes.fee_usd: must be a finite number"),
    case(E + "club.yaml", "fee_usd: 200.00", "fee_usd: 1.0e+308", "fee_usd:", "volumes.fee_usd: must be above 0 and at most"),
    case(E + "club.yaml", "blasts_per_year: 16 ", "blasts_per_year: many ", "blasts_per_year: many",
         "volumes.blasts_per_year: must be a number"),
    case(E + "club.yaml", "  horizon_years: 3 ", "  ", "prices:", "prices.horizon_years: missing"),
    case(E + "club.yaml", "  blasts_per_year: 16 ", "  blasts_per_yr: 16 ", "blasts_per_yr", "volumes.blasts_per_yr: unknown key"),
    # likelihood.yaml
    case(E + "likelihood.yaml", "{share_of: basketball_api, share: 0.2,", "{share_of: basketball_api, share: -0.2,",
         "server_down_30m", "faults.server_down_30m.share: must be from 0 to 1"),
    case(E + "likelihood.yaml", "{per_year: 1, why:", "{per_year: .inf, why:", "stripe_api_429_5m",
         "faults.stripe_api_429_5m.per_year: must be a finite number"),
    case(E + "likelihood.yaml", "  paid_twice_second_visit:", "  paid_twice_third_visit:", "paid_twice_third_visit",
         "faults: missing an entry for fault(s) paid_twice_second_visit"),
    case(E + "likelihood.yaml", "components:", "components:\n  moon: {availability_from: club, phase: full}", "moon",
         "components.moon.phase: unknown key"),
    case(E + "likelihood.yaml", "  basketball_api: {availability_from: club}", "  basketball_api: {}", "basketball_api",
         "components.basketball_api: give exactly one of availability_from"),
    # effort.yaml
    case(E + "effort.yaml", "  route_added: 2.0", "  route_added: lots", "route_added", "unit_days.route_added: must be a number"),
    case(E + "effort.yaml", "  route_added: 2.0", "  route_added: 1.0e+9", "route_added", "unit_days.route_added: must be from 0 to 100"),
    case(E + "effort.yaml", "  route_added: 2.0", "  route_addded: 2.0", "unit_days", "unit_days unknown kind(s) route_addded"),
    case(E + "effort.yaml", "  route_added: 2.0", "", "unit_days", "unit_days missing kind(s) route_added"),
    case(E + "effort.yaml", "unit_days:", "unit_dayz:", "unit_dayz", "unit_dayz: unknown key"),
    case(E + "effort.yaml", "      test: \"Force one 'try again' answer in staging: the alert fires once.\"\n", "",
         "- what: \"Alert on clicks answered", "option_steps.lazy_mint[1].test: missing"),
    case(E + "club.yaml", "  engineers: 1\n", "  engineers: 0\n", "  engineers: 0", "schedule.engineers: must be from 1"),
    case(E + "club.yaml", "days_off: [2026-12-24,", "days_off: [2026-12-32,", "days_off: [", "malformed YAML: value '2026-12-32' cannot be read"),
    case(E + "likelihood.yaml", "old_email_share: 0.5,", "old_email_share: 1.5,", "amount_changed_after_blast",
         "faults.amount_changed_after_blast.old_email_share: must be from 0 to 1"),
    case(E + "likelihood.yaml", "components:", "parts:", "parts:", "parts: unknown key"),
    case(E + "likelihood.yaml", "  none: {baseline: true}", "  none: {}", "  none:", "faults.none: give exactly one of baseline"),
    # mitigations.yaml
    case(E + "mitigations.yaml", "max_network_retries: 2", "max_network_retries: 1000000000", "max_network_retries",
         "max_network_retries: must be from 0 to 10"),
    case(E + "mitigations.yaml", "[5, 30, 120, 360, 1440]", "[5, -30]", "requeue_backoff_minutes",
         "requeue_backoff_minutes[1]: must be above 0"),
    case(E + "mitigations.yaml", "resend_after_incident: true", "", "max_network_retries", "resend_after_incident: missing"),
    case(E + "mitigations.yaml", "resend_after_incident: true", "resend_after_incident: true\nretry_forever: true",
         "retry_forever", "retry_forever: unknown key"),
    # faults.yaml
    case(E + "faults.yaml", "hours: 0.25}", "hours: -1}", "stripe_api_500_15m", "faults.stripe_api_500_15m.hours: must be above 0"),
    case(E + "faults.yaml", "hours: 0.25}", "hours: .nan}", "stripe_api_500_15m", "faults.stripe_api_500_15m.hours: must be a finite"),
    case(E + "faults.yaml", "hours: 0.25}", "hours: soon}", "stripe_api_500_15m", "faults.stripe_api_500_15m.hours: must be a number"),
    case(E + "faults.yaml", "horizon_hours: 96", "", "first_click_hours", "horizon_hours: missing"),
    case(E + "faults.yaml", "hours: 0.25}", "hourz: 1}", "stripe_api_500_15m", "faults.stripe_api_500_15m.hourz: unknown key"),
    case(E + "faults.yaml", "none: {}", "nothing: {}", "faults:", "faults: the fault list needs the `none` baseline"),
    case(E + "faults.yaml", "", "", None, "the fault list is empty"),
    case(E + "faults.yaml", "", "# nothing but a comment\n", None, "the fault list is empty (only comments)"),
    case(E + "faults.yaml", "", "first_click_hours: [0.25\nhorizon_hours: 96\n", "horizon_hours", "malformed YAML"),
    # call_sites.json
    case(E + "call_sites.json", '"files_scanned": 0', '"files_scanned": -1', "files_scanned",
         "scanned_at.files_scanned: must be from 0 to"),
    case(E + "call_sites.json", '"files_scanned": 0', '"files_scanned": NaN', "files_scanned", "malformed JSON: NaN"),
    case(E + "call_sites.json", '"repository": "basketball-api",', "", None, "repository: missing"),
    case(E + "call_sites.json", '"repository": "basketball-api",', '"repository": "basketball-api", "owner": "club",',
         '"owner"', "owner: unknown key"),
    # experiments/live/<date>-probe.json (none committed: one is added first)
    case(E + "live/2026-11-26-probe.json", '"server_time": 1795000000,', '"server_time": -5,', '"server_time"',
         "server_time: must be from 0 to"),
    case(E + "live/2026-11-26-probe.json", '"key_kind": "sk_test",', "", None, "key_kind: missing"),
    case(E + "live/2026-11-26-probe.json", '"key_kind": "sk_test",', '"key_kind": "sk_test", "secret": "x",', '"secret"',
         "secret: unknown key"),
    case(E + "live/2026-11-26-probe.json", '"date": "2026-11-26"', '"date": "2026-12-26"', '"date"',
         "date: 2026-12-26 is after the pinned as-of date 2026-12-07"),
    # experiments/measurements/pay_route_load.json
    case(E + "measurements/pay_route_load.json", '"cpus": 2', '"cpus": "two"', '"cpus"', "machine.cpus: must be a whole number"),
    case(E + "measurements/pay_route_load.json", '"returning_share": 0.2', '"returning_share": 2', '"returning_share"',
         "returning_share: must be from 0 to 1"),
    case(E + "measurements/pay_route_load.json", '"returning_share": 0.2,', "", None, "returning_share: missing"),
    case(E + "measurements/pay_route_load.json", '"returning_share": 0.2', '"returning_share": 0.2, "notes": "x"', '"notes"',
         "notes: unknown key"),
    # docs/adr-approval.json (none committed: one is added first)
    case("docs/adr-approval.json", HEX, "abc", None, "malformed approval record: evidence_sha256: 'abc' must match"),
    case("docs/adr-approval.json", '"approved_by": "Lucas", ', "", None, "malformed approval record: approved_by: missing"),
    case("docs/adr-approval.json", '"approved_by": "Lucas", ', '"approved_by": "Lucas", "role": "cto", ', None,
         "malformed approval record: role: unknown key"),
]

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n"


@pytest.fixture
def scratch(tmp_path, repo_root, monkeypatch):
    """A copy of the committed inputs (plus a probe record and an approval), the repository's paths pointed at it."""
    shutil.copytree(repo_root / "experiments", tmp_path / "experiments")
    (tmp_path / "experiments" / "live" / "2026-11-26-probe.json").write_text(json.dumps(PROBE, indent=2) + "\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "adr-approval.json").write_text(json.dumps(APPROVAL) + "\n")
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "sentinel.txt").write_text("committed evidence\n")
    for name, value in (("ROOT", tmp_path), ("EXPERIMENTS_DIR", tmp_path / "experiments"),
                        ("SOURCES_DIR", tmp_path / "experiments" / "sources"),
                        ("RUN_PARAMS_FILE", tmp_path / "experiments" / "run.yaml"),
                        ("EVIDENCE_DIR", tmp_path / "evidence"), ("DOCS_DIR", tmp_path / "docs")):
        monkeypatch.setattr(config, name, value)

    def no_notebooks(*args, **kwargs):
        raise AssertionError("the inputs were accepted and a notebook was about to run")

    monkeypatch.setattr(pipeline, "run_notebooks", no_notebooks)
    return tmp_path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _refused(root: Path, capsys) -> str:
    before = _tree(root)
    code = cli.main(["evidence"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert _tree(root) == before, "something was written"
    assert sorted(p.name for p in root.iterdir()) == ["docs", "evidence", "experiments"], "a stage directory was left"
    return lines[0]


def test_the_committed_inputs_and_the_added_probe_and_approval_are_accepted(scratch):
    from blastpay.evidence.inputs import validate_inputs

    validate_inputs(scratch)


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_a_bad_input_is_refused_in_one_line_naming_file_and_line(scratch, capsys, bad):
    path = scratch / bad.file
    text = path.read_text()
    if bad.old:
        assert bad.old in text, f"the case no longer matches {bad.file}"
        edited = text.replace(bad.old, bad.new, 1)
    else:
        edited = bad.new
    path.write_text(edited)
    line = 1 if bad.line_of is None else next(i for i, row in enumerate(edited.splitlines(), 1) if bad.line_of in row)
    message = _refused(scratch, capsys)
    assert message.startswith(f"blastpay: error: {path}:{line}: {bad.says}"), message


def test_every_input_kind_has_a_bad_value_a_missing_key_and_an_unknown_key():
    kinds = {c.file if "/sources/" not in c.file else "sources" for c in CASES}
    assert len(kinds) >= 13
    for kind in kinds:
        says = [c.says for c in CASES if kind in c.file or (kind == "sources" and "/sources/" in c.file)]
        assert any("missing" in s for s in says), kind
        assert any("unknown key" in s for s in says), kind
        assert any("must" in s for s in says), kind


def test_an_alias_bomb_is_refused_at_its_first_anchor(scratch, capsys):
    path = scratch / "experiments" / "club.yaml"
    path.write_text(ALIAS_BOMB)
    assert _refused(scratch, capsys) == (f"blastpay: error: {path}:1: malformed YAML: anchors and aliases (&name, *name) "
                                         "are not allowed in an input")


def test_a_duplicate_key_is_refused_not_silently_overwritten(scratch, capsys):
    path = scratch / "experiments" / "run.yaml"
    path.write_text(path.read_text() + "seed: 1\n")
    message = _refused(scratch, capsys)
    assert message.startswith(f"blastpay: error: {path}:") and "duplicate key 'seed'" in message


def test_a_future_dated_source_is_refused_against_the_pinned_date_not_today(scratch, capsys):
    run = scratch / "experiments" / "run.yaml"
    run.write_text(run.read_text().replace("as_of: 2026-12-07", "as_of: 2026-11-25"))  # before the registry's reads
    message = _refused(scratch, capsys)
    assert "is after the pinned as-of date 2026-11-25" in message and "/experiments/sources/" in message


def test_an_input_that_is_not_a_mapping_is_refused(scratch, capsys):
    path = scratch / "experiments" / "mitigations.yaml"
    path.write_text("- 1\n- 2\n")
    assert _refused(scratch, capsys) == f"blastpay: error: {path}:1: must be a mapping, got [1, 2]"

"""The mutation-testing configuration stays true to the code: every listed module and test exists, and every
mutant declared equivalent still names a line its module has (a changed line must be judged again)."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _runner():
    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mutation_run", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_module_and_its_tests_exist_and_the_target_is_85_percent():
    target, modules = _runner().load_modules()
    assert target == 0.85
    assert {"invariants", "tokens", "webhook_matcher", "lazy_mint", "checkout", "payment_links", "decision",
            "yearly_harm", "effort", "decision_sensitivity"} <= set(modules)


def test_every_equivalent_mutant_names_a_line_its_module_still_has():
    run = _runner()
    _, modules = run.load_modules()
    for (module, function, original, mutated), entry in run.load_equivalents().items():
        assert module in modules, f"equivalent.toml lists {module}, which modules.toml does not"
        source = [line.strip() for line in (ROOT / modules[module].path).read_text().splitlines()]
        assert original in source, f"{module} {function}: the line {original!r} is gone; judge the mutant again"
        assert original != mutated and entry["why"].strip()

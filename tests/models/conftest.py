from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from blastpay.models.latency import fit_all, load_scenarios
from blastpay.sources.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "experiments" / "sources"
SCENARIOS = ROOT / "experiments" / "latency_scenarios.yaml"
FEES = ROOT / "experiments" / "fees.yaml"


@pytest.fixture(scope="session")
def registry():
    return load_registry(SOURCES)


@pytest.fixture(scope="session")
def scenarios_cfg():
    return load_scenarios(SCENARIOS)


@pytest.fixture(scope="session")
def models(registry, scenarios_cfg):
    return fit_all(registry, scenarios_cfg)


@pytest.fixture
def registry_copy(tmp_path):
    """A writable copy of the sources registry; call edit(id, value) to change one figure, then load()."""
    target = tmp_path / "sources"
    shutil.copytree(SOURCES, target)

    class Copy:
        path = target

        def edit(self, source_id: str, value: float) -> None:
            for f in sorted(target.glob("*.yaml")):
                entries = yaml.safe_load(f.read_text())
                for e in entries or []:
                    if e["id"] == source_id:
                        e["figure"]["value"] = value
                        f.write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True))
                        return
            raise KeyError(source_id)

        def load(self):
            return load_registry(target)

    return Copy()

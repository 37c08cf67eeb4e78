"""What a notebook's first cell calls: the pinned run parameters, the registry, and its evidence writer."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from blastpay import config
from blastpay.evidence.writer import EvidenceWriter, evidence_root_from_env, hash_paths
from blastpay.sources.registry import Registry, load_registry


@dataclass
class NotebookContext:
    name: str
    params: config.RunParams
    registry: Registry
    writer: EvidenceWriter

    @property
    def seed(self) -> int:
        return self.params.seed

    def rng(self, stream: int = 0) -> np.random.Generator:
        """A generator derived from the root seed, one stream per use, independent of call order elsewhere."""
        return np.random.default_rng(np.random.SeedSequence(self.params.seed, spawn_key=(stream,)))


def context(inputs: list[str] = ()) -> NotebookContext:
    """Set up a notebook run. `inputs` are repo-relative files or directories the notebook reads."""
    name = os.environ.get("BLASTPAY_NOTEBOOK", "interactive")
    params = config.load_run_params()
    root = config.ROOT
    declared = [root / "experiments" / "run.yaml", config.SOURCES_DIR] + [root / p for p in inputs]
    notebook_file = config.NOTEBOOKS_DIR / f"{name}.ipynb"
    if notebook_file.exists():
        declared.append(notebook_file)
    writer = EvidenceWriter(
        root=evidence_root_from_env(),
        producer=name,
        seed=params.seed,
        inputs=hash_paths(declared, root),
    )
    return NotebookContext(name=name, params=params, registry=load_registry(config.SOURCES_DIR), writer=writer)

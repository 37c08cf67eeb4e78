"""Evidence is byte-identical under other numeric configurations: other BLAS kernels, one BLAS thread, numpy's
vectorised loops without AVX-512. Each configuration regenerates the notebooks that do numeric work (metadata
`blastpay.numeric`), the evidence they need copied from the committed tree, in kernels that start with that
configuration, and every file they write must equal the committed one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blastpay import config
from blastpay.evidence.pipeline import notebooks


def numeric_notebooks() -> list[str]:
    return [nb.stem for nb in notebooks()
            if json.loads(nb.read_text()).get("metadata", {}).get("blastpay", {}).get("numeric")]


def numpy_without_avx512() -> dict[str, str] | None:
    """numpy's dispatch with its AVX-512 loops disabled, where this CPU has them (None elsewhere)."""
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_features__

    present = [f for f in ("AVX512_SPR", "AVX512_ICL", "X86_V4", "AVX512_SKX", "AVX512F")
               if __cpu_features__.get(f) and f not in __cpu_baseline__]
    return {"NPY_DISABLE_CPU_FEATURES": ",".join(present)} if present else None


CONFIGURATIONS = {
    "OpenBLAS Sandybridge kernel": {"OPENBLAS_CORETYPE": "Sandybridge"},
    "OpenBLAS Prescott kernel, one thread": {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1"},
    "numpy without AVX-512 (or OpenBLAS Haswell kernel)": numpy_without_avx512() or {"OPENBLAS_CORETYPE": "Haswell"},
}


def test_the_numeric_notebooks_are_declared():
    assert {"02-email-latency", "10-decision"} <= set(numeric_notebooks())


# One configuration's regeneration, run in its own process (the conftest starts every selected configuration when
# the session starts, all at once, so they run beside each other and beside the other tests): the environment as
# JSON, then the directory to write what the numeric notebooks wrote into.
REGENERATE_NUMERIC = """
import json, sys
from pathlib import Path
from blastpay import config
from blastpay.evidence.pipeline import notebooks, regenerate_some
out = Path(sys.argv[2])
numeric = [nb.stem for nb in notebooks()
           if json.loads(nb.read_text()).get("metadata", {}).get("blastpay", {}).get("numeric")]
written = regenerate_some(out / "stage", numeric, committed=config.EVIDENCE_DIR,
                          extra_env=json.loads(sys.argv[1]), progress=lambda _m: None)
for rel, data in written.items():
    (out / "written" / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / "written" / rel).write_bytes(data)
"""


def written_files(out: Path) -> dict[str, bytes]:
    base = out / "written"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGURATIONS))
def test_numeric_evidence_is_byte_identical_under_another_numeric_configuration(name, numeric_regeneration):
    written = written_files(numeric_regeneration)
    assert set(numeric_notebooks()) == {rel.split("/")[1][:-len(".ipynb")] for rel in written
                                        if rel.startswith("notebooks/")}
    assert any(rel.startswith("latency/") for rel in written)
    differ = sorted(rel for rel, data in written.items()
                    if not (config.EVIDENCE_DIR / rel).is_file() or (config.EVIDENCE_DIR / rel).read_bytes() != data)
    assert differ == [], f"under {name} these evidence files differ from the committed ones: {differ}"

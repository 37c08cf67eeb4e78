"""`blastpay evidence` and `blastpay check`: run the notebooks headless into a staging tree, write the
manifest, render the documents, then move everything into place only if every step succeeded."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from . import config
from .evidence import MANIFEST_PARTS, EvidenceError, digest, hash_paths, json_bytes, sha256_bytes

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PINNED_PACKAGES = ("blastpay", "stripe", "numpy", "pandas", "scipy", "matplotlib", "jinja2", "sqlalchemy", "fastapi")
MANIFEST = "manifest.json"
EXECUTED_NOTEBOOKS = "notebooks"


class PipelineError(RuntimeError):
    """A generating step failed; the message names the file (and cell or line)."""


def notebooks(directory: Path | None = None) -> list[Path]:
    directory = directory or config.NOTEBOOKS_DIR
    found = sorted(directory.glob("[0-9][0-9]-*.ipynb"))
    if not found:
        raise PipelineError(f"{directory}: no notebooks found (expected NN-name.ipynb)")
    return found


def package_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in PINNED_PACKAGES}


def _normalise_notebook(nb) -> None:
    """Drop what changes from run to run (timings, kernel ids) so the executed copy is reproducible."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "blastpay (.venv)", "language": "python", "name": "python3"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.pop("id", None)
    nb.nbformat_minor = 4


def execute_notebook(path: Path, evidence_dir: Path, env: dict[str, str], timeout: int = 600) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for a broken file
        raise PipelineError(f"{path}: unreadable notebook: {exc}") from None
    name = path.stem
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["BLASTPAY_NOTEBOOK"] = name
    os.environ["BLASTPAY_EVIDENCE_DIR"] = str(evidence_dir)
    os.environ["BLASTPAY_ROOT"] = str(config.ROOT)
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute()
    except CellExecutionError as exc:
        cell = _failing_cell(nb)
        last = ANSI.sub("", str(exc)).strip().splitlines()
        detail = next((l for l in reversed(last) if l.strip() and not l.startswith("-")), "cell raised")
        raise PipelineError(f"{path}: cell {cell} raised: {detail.strip()}") from None
    except Exception as exc:
        raise PipelineError(f"{path}: notebook could not run: {type(exc).__name__}: {exc}") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)
    _normalise_notebook(nb)
    out = evidence_dir / EXECUTED_NOTEBOOKS / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))


def _failing_cell(nb) -> int | str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index + 1
    return "?"


def write_manifest(evidence_dir: Path, params: config.RunParams) -> dict:
    """Merge the writers' records into evidence/manifest.json: each file, its producer, input hash, seed, versions."""
    parts_dir = evidence_dir / MANIFEST_PARTS
    files: dict[str, dict] = {}
    if parts_dir.is_dir():
        for part in sorted(parts_dir.glob("*.json")):
            record = json.loads(part.read_text())
            inputs_hash = digest(record["inputs"])
            for rel, sha in record["files"].items():
                files[rel] = {
                    "producer": f"notebooks/{record['producer']}.ipynb",
                    "sha256": sha,
                    "inputs_sha256": inputs_hash,
                    "inputs": sorted(record["inputs"]),
                    "seed": record["seed"],
                }
        shutil.rmtree(parts_dir)
    for nb in sorted((evidence_dir / EXECUTED_NOTEBOOKS).glob("*.ipynb")):
        rel = f"{EXECUTED_NOTEBOOKS}/{nb.name}"
        files[rel] = {
            "producer": f"notebooks/{nb.name}",
            "sha256": sha256_bytes(nb.read_bytes()),
            "inputs_sha256": None,
            "inputs": [f"notebooks/{nb.name}"],
            "seed": params.seed,
        }
    code = hash_paths([config.PACKAGE_DIR], config.PACKAGE_DIR.parent)
    manifest = {
        "as_of": params.as_of.isoformat(),
        "seed": params.seed,
        "package_versions": package_versions(),
        "code_sha256": digest(code),
        "files": files,
    }
    (evidence_dir / MANIFEST).write_bytes(json_bytes(manifest))
    return manifest


def evidence_hash(evidence_dir: Path) -> str:
    """The hash the ADR quotes and approvals bind to: every evidence file's sha256, as the manifest lists them.

    It covers what the evidence says, not the code that produced it: a refactor that leaves every evidence
    file byte-identical keeps an approval valid; any change in a figure, table or notebook output does not.
    """
    path = evidence_dir / MANIFEST
    if not path.is_file():
        raise EvidenceError(f"{path}: evidence manifest missing (run `make evidence`)")
    try:
        files = json.loads(path.read_text())["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise EvidenceError(f"{path}: malformed evidence manifest (run `make evidence`)") from None
    return digest({rel: record["sha256"] for rel, record in sorted(files.items())})


@dataclass
class GenerateResult:
    stage: Path
    seconds: float
    docs: dict[str, bytes]


def generate(stage: Path, *, full: bool = False, progress: Callable[[str], None] = print) -> GenerateResult:
    """Run every notebook into stage/evidence and render the documents into stage/docs."""
    from .render import RenderError, render_documents
    from .sources import SourcesError, load_registry

    start = time.perf_counter()
    params = config.load_run_params()
    load_registry(config.SOURCES_DIR)  # a malformed registry stops the run before any notebook starts
    evidence_dir = stage / "evidence"
    evidence_dir.mkdir(parents=True)
    env = params.env()
    if full:
        env["BLASTPAY_FULL"] = "1"
    books = notebooks()
    for index, path in enumerate(books, 1):
        t0 = time.perf_counter()
        progress(f"[{index}/{len(books)}] {path.relative_to(config.ROOT)} ...")
        execute_notebook(path, evidence_dir, env)
        progress(f"[{index}/{len(books)}] {path.name} done in {time.perf_counter() - t0:.1f} s")
    write_manifest(evidence_dir, params)
    try:
        docs = render_documents(evidence_dir)
    except (RenderError, SourcesError, EvidenceError) as exc:
        raise PipelineError(str(exc)) from None
    for rel, data in docs.items():
        if data is None:
            continue
        target = stage / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return GenerateResult(stage=stage, seconds=time.perf_counter() - start, docs=docs)


def generated_paths() -> list[str]:
    from .render import GENERATED_DOCS

    return ["evidence", *GENERATED_DOCS]


def install(stage: Path, root: Path) -> None:
    """Move the staged tree into place: evidence/ as a whole, then each generated document."""
    old = root / ".evidence-old"
    shutil.rmtree(old, ignore_errors=True)
    target = root / "evidence"
    if target.exists():
        os.replace(target, old)
    os.replace(stage / "evidence", target)
    shutil.rmtree(old, ignore_errors=True)
    from .render import GENERATED_DOCS

    for rel in GENERATED_DOCS:
        dest = root / rel
        if (stage / rel).exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, dest)
        elif dest.exists():
            dest.unlink()  # the evidence no longer calls for this document


def run_evidence(*, full: bool = False, progress: Callable[[str], None] = print) -> GenerateResult:
    root = config.ROOT
    stage = Path(tempfile.mkdtemp(prefix=".evidence-stage-", dir=root))
    try:
        result = generate(stage, full=full, progress=progress)
        install(stage, root)
        return result
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _tree(root: Path, rel: str) -> dict[str, bytes]:
    base = root / rel
    if base.is_file():
        return {rel: base.read_bytes()}
    if not base.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()
    }


def compare(stage: Path, root: Path) -> list[str]:
    """Paths whose committed bytes differ from a fresh regeneration (missing, extra, or changed)."""
    drift: list[str] = []
    for rel in generated_paths():
        fresh, committed = _tree(stage, rel), _tree(root, rel)
        for path in sorted(set(fresh) | set(committed)):
            if fresh.get(path) != committed.get(path):
                state = "missing" if path not in committed else "not produced" if path not in fresh else "differs"
                drift.append(f"{path} ({state})")
    return drift


def run_check(progress: Callable[[str], None] = print) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="blastpay-check-") as tmp:
        generate(Path(tmp), progress=progress)
        return compare(Path(tmp), config.ROOT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `blastpay evidence` or `blastpay check`")

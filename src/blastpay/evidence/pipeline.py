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
from pathlib import Path
from typing import Callable

from blastpay import config
from blastpay.evidence.kernels import Kernels, KernelsStopping
from blastpay.evidence.manifest import EXECUTED_NOTEBOOKS, write_manifest
from blastpay.evidence.writer import MANIFEST_PARTS, EvidenceError

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class PipelineError(RuntimeError):
    """A generating step failed; the message names the file (and cell or line)."""


def notebooks(directory: Path | None = None) -> list[Path]:
    directory = directory or config.NOTEBOOKS_DIR
    found = sorted(directory.glob("[0-9][0-9]-*.ipynb"))
    if not found:
        raise PipelineError(f"{directory}: no notebooks found (expected NN-name.ipynb)")
    return found




def _normalise_notebook(nb) -> None:
    """Drop what changes from run to run or machine to machine (timings, kernel ids, stderr: warnings and
    progress bars, which quote absolute paths) so the executed copy is reproducible from any checkout."""
    root = str(config.ROOT)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "blastpay (.venv)", "language": "python", "name": "python3"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.pop("id", None)
        if cell.get("cell_type") != "code":
            continue
        cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        for output in cell.outputs:
            if "text" in output:
                output["text"] = output["text"].replace(root, "<repo>")
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = value.replace(root, "<repo>")
    nb.nbformat_minor = 4


def execute_notebook(path: Path, evidence_dir: Path, env: dict[str, str], timeout: int = 600,
                     kernels: Kernels | None = None) -> None:
    """Run one notebook headless in its own kernel; the kernel gets `env` (the process's own is untouched).
    `kernels`: where the run keeps its kernels, so they can be stopped from another thread."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for a broken file
        raise PipelineError(f"{path}: unreadable notebook: {exc}") from None
    kernel_env = {
        **os.environ,
        **env,
        "BLASTPAY_NOTEBOOK": path.stem,
        "BLASTPAY_EVIDENCE_DIR": str(evidence_dir),
        "BLASTPAY_ROOT": str(config.ROOT),
    }
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up chatter on stderr
        )
        if kernels is not None:
            kernels.add(path.stem, client.create_kernel_manager())
            client.on_notebook_start = lambda notebook: kernels.started(path.stem)
        try:
            client.execute(env=kernel_env, cwd=str(path.parent))
        finally:
            if kernels is not None:
                kernels.discard(path.stem)
    except KernelsStopping as exc:
        raise PipelineError(str(exc)) from None
    except CellExecutionError as exc:
        cell = _failing_cell(nb)
        last = ANSI.sub("", str(exc)).strip().splitlines()
        detail = next((l for l in reversed(last) if l.strip() and not l.startswith("-")), "cell raised")
        raise PipelineError(f"{path}: cell {cell} raised: {detail.strip()}") from None
    except Exception as exc:
        raise PipelineError(f"{path}: notebook could not run: {type(exc).__name__}: {exc}") from None
    _normalise_notebook(nb)
    out = evidence_dir / EXECUTED_NOTEBOOKS / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))


def _settings(path: Path) -> dict:
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise PipelineError(f"{path}: unreadable notebook: {exc}") from None
    return dict(nb.metadata.get("blastpay", {}))


def needs(path: Path) -> list[str]:
    """The notebooks (stems) whose evidence this one reads, from its metadata `blastpay.needs`."""
    return list(_settings(path).get("needs", []))


def run_notebooks(
    books: list[Path], evidence_dir: Path, env: dict[str, str], progress: Callable[[str], None], workers: int = 2,
    already_done: frozenset[str] = frozenset(), prepare: Callable[[str], bool] | None = None,
) -> None:
    """Run the notebooks, at most `workers` at a time, each only after the notebooks it needs.

    Notebooks whose metadata says `blastpay.heavy` (most of the run) start first, so the short ones fill the other
    worker instead of queueing behind it; then numbered order. A notebook may only need lower-numbered ones. The first failure stops
    the run (notebooks still running are stopped, their kernels and what they started with them; none starts
    after it); so does an interrupt (KeyboardInterrupt, SystemExit), which is raised again once they are stopped. `already_done` names notebooks whose
    evidence is already in `evidence_dir` (copied there), so those that need them may run without them.
    `prepare(stem)`, called once the notebooks it needs are done, returns True when it has put the notebook's
    evidence in place itself (reused from an earlier run), so it is not run.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    stems = [b.stem for b in books]
    settings = {b.stem: _settings(b) for b in books}  # each notebook read once
    deps = {stem: list(s.get("needs", [])) for stem, s in settings.items()}
    for stem, wanted in deps.items():
        bad = [w for w in wanted if w not in already_done and (w not in stems or stems.index(w) >= stems.index(stem))]
        if bad:
            raise PipelineError(f"notebooks/{stem}.ipynb: needs {', '.join(bad)}, which is not an earlier notebook")
    by_stem = {b.stem: b for b in books}
    done: set[str] = set(already_done)
    started: dict = {}
    failure: PipelineError | None = None
    t_start = {stem: 0.0 for stem in stems}

    kernels = Kernels()

    def run(stem: str) -> str:
        t_start[stem] = time.perf_counter()
        execute_notebook(by_stem[stem], evidence_dir, env, kernels=kernels)
        return stem

    first = [stem for stem, s in settings.items() if s.get("heavy", False)]
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        pending = first + [s for s in stems if s not in first]
        while pending or started:
            if failure is None:
                progressed = True
                while progressed:  # a reused notebook may make others ready at once
                    progressed = False
                    for stem in list(pending):
                        if len(started) >= workers:
                            break
                        if all(d in done for d in deps[stem]):
                            pending.remove(stem)
                            if prepare is not None and prepare(stem):
                                done.add(stem)
                                progressed = True
                                continue
                            progress(f"[{stems.index(stem) + 1}/{len(stems)}] notebooks/{stem}.ipynb ...")
                            started[pool.submit(run, stem)] = stem
            else:
                pending.clear()
            if not started:
                break
            finished, _ = wait(list(started), return_when=FIRST_COMPLETED)
            for future in finished:
                stem = started.pop(future)
                try:
                    future.result()
                except PipelineError as exc:
                    if failure is None:
                        failure = exc
                        kernels.stop_all()  # the run has failed: the notebooks still running stop now
                    continue
                done.add(stem)
                progress(f"[{stems.index(stem) + 1}/{len(stems)}] {stem}.ipynb done in "
                         f"{time.perf_counter() - t_start[stem]:.1f} s")
    except BaseException:
        kernels.stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # its threads end once their kernels are gone
    if failure is not None:
        raise failure


def _failing_cell(nb) -> int | str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index + 1
    return "?"






@dataclass
class GenerateResult:
    stage: Path
    seconds: float
    docs: dict[str, bytes]


class _Reuse:
    """Each notebook's key (``evidence.reuse``), and, given the evidence tree of an earlier run, the notebooks whose
    key is unchanged copied from it instead of run."""

    def __init__(self, books: list[Path], evidence_dir: Path, full: bool, earlier: Path | None,
                 progress: Callable[[str], None]) -> None:
        from blastpay.evidence import reuse
        from blastpay.evidence.manifest import MANIFEST, package_versions

        self.sources = reuse.notebook_sources(books)
        self.needs = {b.stem: needs(b) for b in books}
        self.extra = {"package_versions": package_versions(), "full": full}
        self.evidence_dir, self.earlier, self.progress = evidence_dir, earlier, progress
        self.records: dict[str, dict] = {}  # stem -> what the manifest records of its key
        self.reused_files: dict[str, dict] = {}  # path -> the earlier manifest's record, for reused notebooks
        self.reused: list[str] = []
        self.before: dict = {}
        if earlier is not None and (earlier / MANIFEST).is_file():
            try:
                self.before = json.loads((earlier / MANIFEST).read_text())
            except ValueError:
                self.before = {}

    def _outputs(self, stem: str) -> dict[str, str]:
        """The evidence files (path -> sha256) a finished notebook wrote, its executed copy left out."""
        part = self.evidence_dir / MANIFEST_PARTS / f"{stem}.json"
        if part.is_file():
            return dict(json.loads(part.read_text())["files"])
        producer = f"notebooks/{stem}.ipynb"
        return {rel: r["sha256"] for rel, r in self.reused_files.items()
                if r["producer"] == producer and not rel.startswith(f"{EXECUTED_NOTEBOOKS}/")}

    def __call__(self, stem: str) -> bool:
        from blastpay.evidence import reuse
        from blastpay.evidence.writer import digest, sha256_bytes

        reads = reuse.hash_sources(self.sources[stem])
        upstream = {need: digest(self._outputs(need)) for need in self.needs[stem]}
        key = reuse.notebook_key(reads, upstream, self.extra)
        self.records[stem] = {"inputs_sha256": key, "reads": reads, "upstream": upstream, "extra": self.extra}
        if self.earlier is None:
            return False
        old = self.before.get("notebooks", {}).get(stem)
        producer = f"notebooks/{stem}.ipynb"
        files = {rel: r for rel, r in self.before.get("files", {}).items() if r.get("producer") == producer}
        executed = f"{EXECUTED_NOTEBOOKS}/{stem}.ipynb"
        intact = executed in files and all(
            (self.earlier / rel).is_file() and sha256_bytes((self.earlier / rel).read_bytes()) == r.get("sha256")
            for rel, r in files.items() if r.get("comparison", "exact") == "exact")
        if old is None or old.get("inputs_sha256") != key or not intact:
            why = reuse.why_changed(old, reads, upstream, self.extra) if intact else "its earlier output is missing or edited"
            self.progress(f"notebooks/{stem}.ipynb runs: {why}")
            return False
        for rel in files:
            (self.evidence_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.earlier / rel, self.evidence_dir / rel)
        self.reused_files.update(files)
        self.reused.append(stem)
        return True


def generate(
    stage: Path, *, full: bool = False, progress: Callable[[str], None] = print, workers: int = 2,
    reuse_from: Path | None = None,
) -> GenerateResult:
    """Run every notebook into stage/evidence and render the documents into stage/docs. With `reuse_from` (an
    evidence tree with its manifest), a notebook whose key is unchanged there is copied from it instead of run."""
    from blastpay.adr.render import RenderError, render_documents
    from blastpay.evidence.inputs import validate_inputs
    from blastpay.sources.registry import SourcesError

    start = time.perf_counter()
    params = config.load_run_params()
    validate_inputs()  # a malformed or inconsistent input stops the run before any notebook starts
    evidence_dir = stage / "evidence"
    evidence_dir.mkdir(parents=True)
    env = params.env()
    if full:
        env["BLASTPAY_FULL"] = "1"
    books = notebooks()
    keys = _Reuse(books, evidence_dir, full, reuse_from, progress)
    run_notebooks(books, evidence_dir, env, progress, workers=workers, prepare=keys)
    if keys.reused:
        progress(f"reused (inputs, code and upstream evidence unchanged): {', '.join(keys.reused)}")
    write_manifest(evidence_dir, params, notebooks=keys.records, reused=keys.reused_files)
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
    from blastpay.adr.render import GENERATED_DOCS

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
    from blastpay.adr.render import GENERATED_DOCS

    for rel in GENERATED_DOCS:
        dest = root / rel
        if (stage / rel).exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, dest)
        elif dest.exists():
            dest.unlink()  # the evidence no longer calls for this document


def regenerate_some(
    stage: Path, stems: list[str], *, committed: Path, extra_env: dict[str, str] | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, bytes]:
    """Run only the notebooks `stems` into stage/evidence, the evidence they need copied from the `committed`
    evidence tree, and return what they wrote (path -> bytes). For checking one part of the evidence under
    other conditions (for example another BLAS kernel) without the cost of a whole run."""
    from blastpay.evidence.manifest import MANIFEST

    by_stem = {b.stem: b for b in notebooks()}
    unknown = [s for s in stems if s not in by_stem]
    if unknown:
        raise PipelineError(f"no such notebook: {', '.join(unknown)}")
    wanted = {w for s in stems for w in needs(by_stem[s])} - set(stems)
    manifest = json.loads((committed / MANIFEST).read_text())["files"]
    evidence_dir = stage / "evidence"
    evidence_dir.mkdir(parents=True)
    for rel, record in manifest.items():
        if Path(record["producer"]).stem in wanted and not rel.startswith(f"{EXECUTED_NOTEBOOKS}/"):
            (evidence_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(committed / rel, evidence_dir / rel)
    env = {**config.load_run_params().env(), **(extra_env or {})}
    books = [by_stem[s] for s in sorted(stems)]
    run_notebooks(books, evidence_dir, env, progress, already_done=frozenset(wanted))
    written: dict[str, bytes] = {}
    for part in sorted((evidence_dir / MANIFEST_PARTS).glob("*.json")):
        if part.stem in stems:
            for rel in json.loads(part.read_text())["files"]:
                written[rel] = (evidence_dir / rel).read_bytes()
    for stem in stems:
        rel = f"{EXECUTED_NOTEBOOKS}/{stem}.ipynb"
        written[rel] = (evidence_dir / rel).read_bytes()
    return written


FULL_DIR = "evidence-full"


def run_evidence(*, full: bool = False, force: bool = False, progress: Callable[[str], None] = print) -> GenerateResult:
    """Regenerate into a staging tree and move it into place. The committed evidence is the default run's;
    `full` (the large sweeps) goes to evidence-full/ (not committed), with the documents rendered from it.

    The default run reuses each notebook whose key (its inputs, code and upstream evidence) is the one the committed
    manifest records, copying its evidence instead of running it; `force` runs every notebook. The documents are
    rendered every time."""
    root = config.ROOT
    stage = Path(tempfile.mkdtemp(prefix=".evidence-stage-", dir=root))
    try:
        earlier = None if (full or force) else root / "evidence"
        result = generate(stage, full=full, progress=progress, reuse_from=earlier)
        if full:
            target = root / FULL_DIR
            shutil.rmtree(target, ignore_errors=True)
            os.replace(stage, target)
            stage.mkdir()  # so the cleanup below has something to remove
            progress(f"full-sweep evidence and documents written to {FULL_DIR}/ (the committed evidence/ is untouched)")
        else:
            import signal

            # moving the tree into place is not cut in half by an interrupt: it is held until the move is done
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                install(stage, root)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
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


def screenshot_pixels_differ(fresh: bytes, committed: bytes) -> str | None:
    """Why two screenshots differ beyond the tolerance (manifest.COMPARISON_RULES["screenshot"]), or None."""
    import io

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from blastpay.evidence.manifest import PIXEL_THRESHOLD, PIXEL_TOLERANCE

    try:
        a = Image.open(io.BytesIO(fresh)).convert("RGBA")
        b = Image.open(io.BytesIO(committed)).convert("RGBA")
    except (UnidentifiedImageError, OSError) as exc:
        return f"unreadable PNG: {exc}"
    if a.size != b.size:
        return f"size {b.size[0]}x{b.size[1]} -> {a.size[0]}x{a.size[1]}"
    limit = PIXEL_TOLERANCE * a.size[0] * a.size[1]
    changed = int(np.any(np.asarray(a) != np.asarray(b), axis=2).sum())
    if changed <= limit:  # pixelmatch counts a subset of these: no need to run it
        return None
    from pixelmatch.contrib.PIL import pixelmatch

    differing = pixelmatch(a, b, threshold=PIXEL_THRESHOLD, includeAA=False)
    if differing <= limit:
        return None
    return f"{differing / (a.size[0] * a.size[1]):.1%} of pixels differ (tolerance {PIXEL_TOLERANCE:.0%})"


def _manifest_without_screenshot_bytes(data: bytes | None) -> object:
    import json

    from blastpay.evidence.manifest import COMPARISON_RULES

    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except ValueError:
        return data
    for record in manifest.get("files", {}).values():
        if record.get("comparison") == "screenshot":
            record.pop("sha256", None)
    manifest.get("comparison_rules", {}).setdefault("screenshot", COMPARISON_RULES["screenshot"])
    return manifest


def compare(stage: Path, root: Path) -> list[str]:
    """Paths whose committed content differs from a fresh regeneration (missing, extra, or changed).

    Every file must be byte-identical except screenshots (a PNG with a `.page.json` sidecar beside it): their
    sidecar must be byte-identical and their pixels match within the tolerance that the manifest states
    (`comparison_rules`), and the manifest's sha256 of a screenshot is not compared."""
    from blastpay.evidence.manifest import MANIFEST, comparison_rule

    drift: list[str] = []
    for rel in generated_paths():
        fresh, committed = _tree(stage, rel), _tree(root, rel)
        for path in sorted(set(fresh) | set(committed)):
            new, old = fresh.get(path), committed.get(path)
            if new == old:
                continue
            if new is None or old is None:
                drift.append(f"{path} ({'missing' if old is None else 'not produced'})")
            elif comparison_rule(path, fresh) == "screenshot" and comparison_rule(path, committed) == "screenshot":
                why = screenshot_pixels_differ(new, old)
                if why is not None:
                    drift.append(f"{path} (screenshot differs: {why})")
            elif path == f"evidence/{MANIFEST}":
                if _manifest_without_screenshot_bytes(new) != _manifest_without_screenshot_bytes(old):
                    drift.append(f"{path} (differs)")
            else:
                drift.append(f"{path} (differs)")
    return drift


def run_check(progress: Callable[[str], None] = print) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="blastpay-check-") as tmp:
        generate(Path(tmp), progress=progress)
        return compare(Path(tmp), config.ROOT)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `blastpay evidence` or `blastpay check`")

"""evidence/manifest.json: per file its producer, input hash and seed; the package versions; and the evidence
hash the ADR quotes and approvals bind to."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

from blastpay import config
from blastpay.evidence.writer import MANIFEST_PARTS, EvidenceError, digest, hash_paths, json_bytes, sha256_bytes

PINNED_PACKAGES = ("blastpay", "stripe", "numpy", "pandas", "scipy", "matplotlib", "jinja2", "sqlalchemy", "fastapi")
MANIFEST = "manifest.json"
EXECUTED_NOTEBOOKS = "notebooks"


# How `blastpay check` compares each evidence file with a regeneration. Every file must be byte-identical,
# except screenshots: a PNG with a sidecar `<name>.page.json` beside it. For those the sidecar (each step's
# caption, who served the page, its kind, its text and its element outline) must be byte-identical, and the
# pixels may differ within the tolerance below, so a font or Chromium update does not fail the check while a
# changed page still does. The evidence hash covers the sidecar, not the PNG's bytes.
SCREENSHOT_SIDECAR = ".page.json"
PIXEL_THRESHOLD = 0.1  # pixelmatch's per-pixel colour distance (0..1) above which a pixel differs
PIXEL_TOLERANCE = 0.05  # share of a screenshot's pixels that may differ (a font swap measured 1.6-3.5%)
COMPARISON_RULES = {
    "exact": "byte-identical to a regeneration",
    "screenshot": (f"the sidecar <name>{SCREENSHOT_SIDECAR} (page text, element outline, captions) byte-identical; "
                   f"the PNG the same size with at most {PIXEL_TOLERANCE:.0%} of pixels differing by pixelmatch "
                   f"(threshold {PIXEL_THRESHOLD}, anti-aliased pixels not counted); its sha256 is informative only"),
}


def sidecar_of(rel: str) -> str:
    """The sidecar path of a screenshot PNG."""
    return rel[: -len(".png")] + SCREENSHOT_SIDECAR


def comparison_rule(rel: str, paths: "set[str] | dict") -> str:
    """"screenshot" for a PNG whose sidecar is among `paths`, else "exact"."""
    return "screenshot" if rel.endswith(".png") and sidecar_of(rel) in paths else "exact"


def package_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in PINNED_PACKAGES}

def write_manifest(evidence_dir: Path, params: config.RunParams, *, notebooks: dict[str, dict] | None = None,
                   reused: dict[str, dict] | None = None) -> dict:
    """Merge the writers' records into evidence/manifest.json: each file, its producer, input hash, seed, versions;
    `notebooks`: each notebook's key (``evidence.reuse``); `reused`: the earlier records of the files of notebooks
    that were copied from an earlier run instead of run."""
    parts_dir = evidence_dir / MANIFEST_PARTS
    files: dict[str, dict] = {rel: {k: v for k, v in r.items() if k != "comparison"} for rel, r in (reused or {}).items()}
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
    for rel, record in files.items():
        record["comparison"] = comparison_rule(rel, files)
    code = hash_paths([config.PACKAGE_DIR], config.PACKAGE_DIR.parent)
    manifest = {
        "comparison_rules": COMPARISON_RULES,
        "as_of": params.as_of.isoformat(),
        "seed": params.seed,
        "package_versions": package_versions(),
        "code_sha256": digest(code),
        "files": files,
    }
    if notebooks:
        manifest["notebooks"] = notebooks
    (evidence_dir / MANIFEST).write_bytes(json_bytes(manifest))
    return manifest

def evidence_hash(evidence_dir: Path) -> str:
    """The hash the ADR quotes and approvals bind to: every evidence file's sha256, as the manifest lists them.

    It covers what the evidence says, not the code that produced it (for a screenshot, its sidecar's text
    and outline, not its pixels): a refactor that leaves every evidence
    file byte-identical keeps an approval valid; any change in a figure, table or notebook output does not.
    """
    path = evidence_dir / MANIFEST
    if not path.is_file():
        raise EvidenceError(f"{path}: evidence manifest missing (run `make evidence`)")
    try:
        files = json.loads(path.read_text())["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise EvidenceError(f"{path}: malformed evidence manifest (run `make evidence`)") from None
    return digest({rel: record["sha256"] for rel, record in sorted(files.items())
                   if record.get("comparison", "exact") != "screenshot"})

"""`blastpay report OUT`: the executed notebooks of evidence/notebooks/ as HTML pages for readers without Jupyter.

Each page shows the notebook's text, tables and figures (inline, so a page is one self-contained file) with the
code hidden; `index.html` lists them. Every page is rendered before any is written, and each is written atomically,
so a failure leaves OUT as it was.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path
from typing import Sequence

from blastpay import config
from blastpay.atomic_file import write_atomically
from blastpay.evidence.writer import EvidenceError


def notebook_html(path: Path) -> str:
    """One executed notebook as a self-contained HTML page: outputs and text only, figures embedded."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for an unreadable file
        raise EvidenceError(f"{path}: not a readable notebook ({exc.__class__.__name__})") from None
    body, _resources = exporter.from_notebook_node(notebook)
    return body


def _title(path: Path) -> str:
    return path.stem.split("-", 1)[-1].replace("-", " ").capitalize()


def index_html(pages: list[Path]) -> str:
    items = "\n".join(f'<li><a href="{html.escape(p.stem)}.html">{html.escape(_title(p))}</a></li>' for p in pages)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>blastpay evidence</title></head>\n"
            f"<body><h1>blastpay evidence: the executed notebooks</h1>\n<ol>\n{items}\n</ol></body></html>\n")


def export(out: Path, source: Path | None = None) -> list[Path]:
    """Render every notebook of `source` (default: evidence/notebooks) into `out`; the pages written."""
    source = source or config.EVIDENCE_DIR / "notebooks"
    notebooks = sorted(source.glob("*.ipynb")) if source.is_dir() else []
    if not notebooks:
        raise EvidenceError(f"{source}: no executed notebooks; run `make evidence` first")
    if out.exists() and not out.is_dir():
        raise EvidenceError(f"{out}: exists and is not a directory")
    pages = {out / f"{nb.stem}.html": notebook_html(nb) for nb in notebooks}
    pages[out / "index.html"] = index_html(notebooks)
    for path, text in pages.items():
        write_atomically(path, text)
        path.chmod(0o644)  # a page for anyone to read, not a private temporary file
    return list(pages)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="blastpay report",
        description="Export the executed notebooks of evidence/notebooks/ to HTML (figures inline, code hidden) "
        "into OUT, with an index.html, for readers without Jupyter.")
    parser.add_argument("out", type=Path, help="directory to write the pages into (created if missing)")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="directory of executed notebooks (default: evidence/notebooks)")
    args = parser.parse_args(list(argv))
    written = export(args.out, args.notebooks)
    print(f"{len(written) - 1} notebooks exported to {args.out}/ (open {args.out / 'index.html'})")
    return 0

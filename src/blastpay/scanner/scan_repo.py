"""Scan a repository into an :class:`Inventory` (pure apart from reading files)."""

from __future__ import annotations

from pathlib import Path

from blastpay.scanner.ast_sites import scan_python
from blastpay.scanner.inventory import Inventory, SkippedFile
from blastpay.scanner.text_sites import doc_sites, template_sites
from blastpay.scanner.walk import DEFAULT_MAX_FILE_BYTES, content_hash, discover, git_commit


class ScanError(ValueError):
    """The scan could not start; the message is one line."""


def scan(root: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Inventory:
    """List every checkout call site under ``root``.

    Never raises for a bad file inside the tree (it lands in ``skipped``);
    raises :class:`ScanError` if ``root`` is not a readable directory.
    """
    root = Path(root)
    if not root.exists():
        raise ScanError(f"{root}: no such directory")
    if not root.is_dir():
        raise ScanError(f"{root}: not a directory")
    resolved = root.resolve()
    files, skipped_files = discover(resolved, max_file_bytes)
    python = scan_python(files)
    sites = python.sites + template_sites(files, python.template_vars) + doc_sites(files)
    skipped = [SkippedFile(s.path, s.reason) for s in skipped_files] + python.skipped
    # the hash covers every file read, including Python files that failed to parse,
    # so fixing a syntax error changes it
    return Inventory(
        repository=resolved.name,
        commit=git_commit(resolved),
        content_hash=content_hash(files),
        files_scanned=len(files),
        sites=sites,
        skipped=skipped,
        rescan_command=f"blastpay scan {root} --out experiments/call_sites.json",
    ).sorted()

"""File discovery for the call-site scanner.

Walks a repository without following symlinks, decides which files are worth
reading (Python sources, templates, documentation) and reports every file it
refuses to read in a ``skipped`` list with a reason instead of raising.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

EXCLUDED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
     ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis",
     "site-packages"}
)
PYTHON_SUFFIXES = frozenset({".py"})
TEMPLATE_SUFFIXES = frozenset({".html", ".htm", ".jinja", ".jinja2", ".j2"})
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt"})
DEFAULT_MAX_FILE_BYTES = 2_000_000
BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceFile:
    """A file that was read: repo-relative posix path, kind and decoded text."""

    path: str
    kind: str  # "python" | "template" | "doc"
    text: str
    sha256: str


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def file_kind(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return "python"
    if suffix in TEMPLATE_SUFFIXES:
        return "template"
    if suffix in DOC_SUFFIXES:
        return "doc"
    return None


def _symlink_reason(link: Path, root: Path) -> str:
    try:
        target = link.resolve(strict=True)
    except RuntimeError:
        return "symlink loop"
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "symlink loop"
        return "broken symlink"
    try:
        target.relative_to(root)
    except ValueError:
        return "symlink points outside the scanned root"
    if target.is_dir():
        return "symlink to a directory inside the root (scanned at its real path)"
    return "symlink to a file inside the root (scanned at its real path)"


def decode_source(data: bytes, max_bytes: int) -> tuple[str | None, str | None]:
    """Return (text, None) or (None, reason) for the bytes of one file."""
    if len(data) > max_bytes:
        return None, f"file larger than {max_bytes} bytes"
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        return None, "binary file"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start})"


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


def not_regular(mode: int) -> str | None:
    """What a file of ``mode`` is, if it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((f"not a regular file ({name})" for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular_file(path: Path, max_bytes: int) -> bytes | str:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``, else why it was not read.

    Opened without following a symlink and without blocking (a FIFO would otherwise wait for a writer for
    ever), then checked on the open descriptor, so a file swapped between listing and reading is caught."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        reason = not_regular(info.st_mode)
        if reason is not None:
            return reason
        if info.st_size > max_bytes:
            return f"file larger than {max_bytes} bytes"
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def discover(root: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[list[SourceFile], list[Skipped]]:
    """Read every Python, template and documentation file under ``root``.

    Symlinks are never followed; each one is reported in ``skipped`` with why.
    Directories in ``EXCLUDED_DIRS`` are not entered. Results are sorted by path.
    """
    root = root.resolve()
    files: list[SourceFile] = []
    skipped: list[Skipped] = []

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        skipped.append(Skipped(_rel(where, root), f"unreadable directory ({exc.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, topdown=True, onerror=on_error, followlinks=False):
        here = Path(dirpath)
        kept = []
        for d in sorted(dirnames):
            if d in EXCLUDED_DIRS:
                continue
            full = here / d
            if full.is_symlink():
                skipped.append(Skipped(_rel(full, root), _symlink_reason(full, root)))
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            full = here / name
            rel = _rel(full, root)
            if full.is_symlink():
                skipped.append(Skipped(rel, _symlink_reason(full, root)))
                continue
            kind = file_kind(name)
            if kind is None:
                continue
            try:
                data_or_reason = read_regular_file(full, max_file_bytes)
            except OSError as exc:
                skipped.append(Skipped(rel, f"unreadable file ({exc.strerror})"))
                continue
            if isinstance(data_or_reason, str):
                skipped.append(Skipped(rel, data_or_reason))
                continue
            data = data_or_reason
            text, reason = decode_source(data, max_file_bytes)
            if text is None:
                skipped.append(Skipped(rel, reason or "unreadable"))
                continue
            files.append(SourceFile(rel, kind, text, hashlib.sha256(data).hexdigest()))
    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: (s.path, s.reason))
    return files, skipped


def content_hash(files: list[SourceFile]) -> str:
    """sha256 over the sorted (path, file sha256) pairs of the files read."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f.path.encode("utf-8") + b"\x00" + f.sha256.encode("ascii") + b"\n")
    return "sha256:" + digest.hexdigest()


def git_commit(root: Path) -> str | None:
    """The commit ``root`` has checked out, read from .git without running git."""
    git = root / ".git"
    if git.is_file():  # worktree or submodule: "gitdir: <path>"
        line = _small_text(git)
        if line is None:
            return None
        if not line.startswith("gitdir:"):
            return None
        git = (root / line.split(":", 1)[1].strip()).resolve()
    if not git.is_dir():
        return None
    head = _small_text(git / "HEAD")
    if head is None:
        return None
    if not head.startswith("ref:"):
        return head if _is_sha(head) else None
    ref = head.split(":", 1)[1].strip()
    common = git
    commondir = git / "commondir"
    if commondir.is_file():
        common = (git / (_small_text(commondir) or ".")).resolve()
    for base in (git, common):
        ref_file = base / ref
        if ref_file.is_file():
            value = _small_text(ref_file)
            return value if value is not None and _is_sha(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in (_small_text(packed, 10_000_000) or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _is_sha(parts[0]):
                return parts[0]
    return None


def _small_text(path: Path, max_bytes: int = 65_536) -> str | None:
    """A small regular file's stripped text (a FIFO or device named like a git file is not waited on)."""
    try:
        data = read_regular_file(path, max_bytes)
    except OSError:
        return None
    if isinstance(data, str):
        return None
    return data.decode("utf-8", "replace").strip()


def _is_sha(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()

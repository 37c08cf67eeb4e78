"""Scanner throughput on a generated 2,000-file repository.

Prints ``name: value`` lines: the full scan time, files per second, and the
ratio against a baseline measured in the same run (reading and ``ast.parse``-ing
the same files, the least any AST scanner must do).

    .venv/bin/python benchmarks/scanner_bench.py [--files 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
import tempfile
import time
from pathlib import Path

from blastpay.scanner import scan

MAX_FILES = 20_000


def module_source(i: int, rng: random.Random, n_packages: int, helpers: list[int]) -> str:
    pkg = i % n_packages
    lines = ['"""Generated module."""', "", "import stripe", "from datetime import datetime, timedelta, timezone", ""]
    if helpers and rng.random() < 0.3:
        h = rng.choice(helpers)
        lines.append(f"from app.pkg{h % n_packages}.mod{h} import make_checkout as mk{h}")
    lines.append(f"from app.pkg{pkg} import mod{max(i - 1, 0)} as prev")
    lines.append("")
    if i in helpers:
        lines += [
            "def make_checkout(order):",
            "    session = stripe.checkout.Session.create(",
            "        mode='payment', metadata={'order_id': str(order.id)},",
            "        expires_at=int((datetime.now(timezone.utc) + timedelta(hours=23)).timestamp()),",
            "    )",
            "    return session.url",
            "",
        ]
    for f in range(rng.randint(3, 8)):
        lines += [
            f"def func_{f}(a, b=None):",
            f"    total = a + {rng.randint(1, 99)}",
            "    for k in range(3):",
            "        total += k * 2",
            "    data = {'k': total, 'label': f'value {total}'}",
            "    return prev.__name__, data",
            "",
        ]
    lines += [f"class Model{i}:", "    def __init__(self, x):", "        self.x = x", "",
              "    def create(self, y):", "        return self.x + y", ""]
    for line in list(lines):
        if line.startswith("from app.pkg") and "make_checkout" in line:
            alias = line.rsplit(" ", 1)[-1]
            lines += ["def send_reminder(order, mailer):", f"    url = {alias}(order)",
                      "    mailer.send_email(order.email, url)", ""]
    return "\n".join(lines) + "\n"


def generate(root: Path, n_files: int, seed: int) -> int:
    rng = random.Random(seed)
    n_py = int(n_files * 0.8)
    n_templates = int(n_files * 0.1)
    n_docs = n_files - n_py - n_templates
    n_packages = max(1, n_py // 100)
    helpers = sorted(rng.sample(range(n_py), k=max(1, n_py // 100)))
    written = 0
    for p in range(n_packages):
        d = root / "app" / f"pkg{p}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "__init__.py").write_text("", encoding="utf-8")
        written += 1
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    written += 1
    for i in range(n_py - written):
        (root / "app" / f"pkg{i % n_packages}" / f"mod{i}.py").write_text(module_source(i, rng, n_packages, helpers), encoding="utf-8")
        written += 1
    (root / "templates").mkdir()
    for i in range(n_templates):
        var = "checkout_url" if i % 5 == 0 else "team_name"
        (root / "templates" / f"email{i}.html").write_text(f"<p>Hello</p>\n<a href=\"{{{{ {var} }}}}\">Go</a>\n", encoding="utf-8")
        written += 1
    (root / "docs").mkdir()
    for i in range(n_docs):
        body = "Checkout sessions expire after 24 hours.\n" if i % 7 == 0 else "Practice is on Tuesdays.\n"
        (root / "docs" / f"note{i}.md").write_text(f"# Note {i}\n\n{body}", encoding="utf-8")
        written += 1
    return written


def parse_baseline(root: Path) -> float:
    start = time.perf_counter()
    for path in sorted(root.rglob("*")):
        if path.suffix == ".py":
            ast.parse(path.read_text(encoding="utf-8"))
        elif path.is_file():
            path.read_text(encoding="utf-8")
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not 1 <= args.files <= MAX_FILES:
        print(f"scanner_bench: --files must be between 1 and {MAX_FILES}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="scanner-bench-") as tmp:
        root = Path(tmp)
        n = generate(root, args.files, args.seed)
        baseline = parse_baseline(root)
        start = time.perf_counter()
        inventory = scan(root)
        elapsed = time.perf_counter() - start
    print(f"files_generated: {n}")
    print(f"scan_{n}_files_seconds: {elapsed:.3f}")
    print(f"scan_files_per_second: {n / elapsed:.0f}")
    print(f"read_and_parse_baseline_seconds: {baseline:.3f}")
    print(f"scan_vs_parse_baseline_ratio: {elapsed / baseline:.2f}")
    print(f"sites_found: {len(inventory.sites)}")
    print(f"target_under_10_seconds: {'yes' if elapsed < 10 else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

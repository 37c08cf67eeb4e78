"""The ADR follows the evidence whichever option it recommends: an engineer who reruns the decision with other numbers
gets a document whose prose argues for the new answer, not a failed render or the old prose."""

import os
import re
import shutil
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_a_reprice_share_past_the_tie_rerenders_the_adr_arguing_for_the_other_option(scratch_repo, repo_root):
    for rel in ("evidence", "docs"):
        shutil.rmtree(scratch_repo / rel)
        shutil.copytree(repo_root / rel, scratch_repo / rel)
    before = (scratch_repo / "docs" / "adr-payment-blast-pattern.md").read_text()
    likelihood = scratch_repo / "experiments" / "likelihood.yaml"
    text = likelihood.read_text()
    line = re.search(r"amount_changed_after_blast: \{per_order: ([0-9.]+),", text)
    assert line, "likelihood.yaml names the re-price share"
    likelihood.write_text(text.replace(line.group(0), line.group(0).replace(line.group(1), "0.05"), 1))

    result = subprocess.run([sys.executable, "-m", "blastpay.cli", "evidence"], capture_output=True, text=True,
                            env=dict(os.environ, BLASTPAY_ROOT=str(scratch_repo)), timeout=600)

    assert result.returncode == 0, result.stderr
    after = (scratch_repo / "docs" / "adr-payment-blast-pattern.md").read_text()
    title = next(line for line in after.splitlines() if line.startswith("# "))
    old_title = next(line for line in before.splitlines() if line.startswith("# "))
    assert title != old_title
    decision = __import__("json").loads((scratch_repo / "evidence" / "decision" / "decision.json").read_text())
    words = {"lazy_mint": "lazy-mint", "payment_links": "Payment Link"}
    assert words[decision["recommended_option"]] in title
    assert "Chosen option: **\"" + decision["recommended_option_title"] + "\"**" in after

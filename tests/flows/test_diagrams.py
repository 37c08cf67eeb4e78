"""Every flow variant has a Mermaid sequence diagram in docs/flows/, and the code it cites exists."""

import re
from pathlib import Path

import pytest

from blastpay.flows.harness import VARIANTS

ROOT = Path(__file__).resolve().parents[2]
DIAGRAM = {
    "payment_link_per_order": "payment-link-per-order.md",
    "payment_link_per_product": "payment-link-per-product.md",
    "lazy_mint_hmac": "lazy-mint.md",
    "lazy_mint_db": "lazy-mint.md",
    "ttl_30d": "ttl-30d.md",
    "ttl_24h": "ttl-24h.md",
    "ttl_24h_recovery": "ttl-24h-recovery.md",
}


def test_every_variant_has_a_diagram_and_no_diagram_is_orphaned():
    assert set(DIAGRAM) == set(VARIANTS)
    assert {p.name for p in (ROOT / "docs" / "flows").glob("*.md")} == set(DIAGRAM.values())


@pytest.mark.parametrize("name", sorted(set(DIAGRAM.values())))
def test_diagram_is_a_sequence_diagram_citing_real_code(name):
    text = (ROOT / "docs" / "flows" / name).read_text()
    assert "```mermaid\nsequenceDiagram" in text
    cited = re.findall(r"`((?:src|tests)/[\w/]+\.py)`", text)
    assert cited, f"{name} cites no code"
    for path in cited:
        assert (ROOT / path).is_file(), f"{name} cites missing {path}"

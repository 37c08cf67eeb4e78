"""The failure-mode matrix as a picture: faults down, variants across, coloured by the share of parents who meet
an error page or cannot pay, each cell labelled with its verdict."""

from __future__ import annotations

from blastpay.experiments.failure_modes import Cell, short_label


def matrix_figure(cells: list[Cell]):
    """Heat map, faults x variants: the share of parents who meet an error page or cannot pay (colour), with each
    cell's label (money wrong, flagged refund, error-page share, hours without a link, ok)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    faults = list(dict.fromkeys(c.fault for c in cells))
    variants = list(dict.fromkeys(c.variant for c in cells))
    grid = np.zeros((len(faults), len(variants)))
    by = {(c.fault, c.variant): c for c in cells}
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(faults) + 2))
    for i, f in enumerate(faults):
        for j, v in enumerate(variants):
            c = by[(f, v)]
            harm = max(c.error_page_share, 1 - c.eventually_pay_share, min(1.0, c.excess_parent_hours / 24))
            grid[i, j] = 1.0 if not c.money_safe else harm
            ax.text(j, i, short_label(c).replace("\n", " "), ha="center", va="center", fontsize=6.5)
    im = ax.imshow(grid, cmap="RdYlGn_r", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(faults)), faults, fontsize=7.5)
    fig.colorbar(im, ax=ax, fraction=0.03, label="harm: error-page share, unpaid share or hours/24 (red: money wrong)")
    ax.set_title("Every variant, the same faults and mitigations: what parents meet", fontsize=10)
    fig.tight_layout()
    return fig

import os

import pytest

from blastpay.experiments import journeys

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_chromium() -> None:
    """Outside CI a missing Chromium skips with the reason printed; in CI it fails."""
    try:
        journeys.require_chromium()
    except journeys.BrowserMissing as exc:
        if IN_CI:
            pytest.fail(f"required in CI: {exc}")
        print(f"skipping browser journeys: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    _require_chromium()
    with journeys.JourneyBrowser(screenshots=False) as b:
        yield b


@pytest.fixture(scope="session")
def walked(browser):
    """The evidence plan for every variant, walked once; tests read what the parent saw."""
    return [j for v in journeys.VARIANTS for j in journeys.walk_variant(browser, v, journeys.DEFAULT_PLAN, seed=489)]


@pytest.fixture(scope="session")
def journey(walked):
    def find(variant, when, path):
        found = [j for j in walked if (j.variant, j.click_at, j.path) == (variant, when, path)]
        assert len(found) == 1, f"expected one {path} journey for {variant} at {when}, found {len(found)}"
        return found[0]

    return find

import importlib.util
import os
from pathlib import Path

import pytest
from reliability_helpers import POSTGRES_ENV

_top = importlib.util.spec_from_file_location("tests_top_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
_top_module = importlib.util.module_from_spec(_top)
_top.loader.exec_module(_top_module)
require_or_skip = _top_module.require_or_skip  # outside CI skip with a reason, in CI fail


@pytest.fixture
def postgres_url():
    """A PostgreSQL URL with an empty schema (tables dropped before and after), from DATABASE_URL_POSTGRES."""
    url = os.environ.get(POSTGRES_ENV)
    require_or_skip(bool(url), f"{POSTGRES_ENV} is not set (run: eval \"$(bash .ci/postgres)\")")
    from sqlalchemy import create_engine

    from blastpay.flows.order_models import Base

    def drop_all() -> None:  # a fresh engine each time: a test may kill every connection it can see
        engine = create_engine(url)
        Base.metadata.drop_all(engine)
        engine.dispose()

    drop_all()
    yield url
    drop_all()

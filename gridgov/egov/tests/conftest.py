import pytest

from . import factories as f


@pytest.fixture(autouse=True)
def materials_root(settings, tmp_path):
    settings.EGOV_MATERIALS_ROOT = str(tmp_path / "materials")
    return tmp_path / "materials"


@pytest.fixture
def flow(db):
    return f.Flow()

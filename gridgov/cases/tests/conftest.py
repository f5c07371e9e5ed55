import pytest

from . import factories as f


@pytest.fixture
def world(db):
    return f.World()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT

import pytest

from . import factories as f


@pytest.fixture
def village(db):
    return f.Village()


@pytest.fixture
def other_village(db):
    return f.Village(town=f.HUJI, name="别的村")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path

import pytest

from . import factories as f


@pytest.fixture
def world(db):
    return f.World()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _fresh_locator_and_fast_hashing(settings):
    """Overrides the root fixture of the same name: these tests never change the regions, so the
    locator's index (rebuilt on a version check anyway) is kept across tests instead of rebuilt."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    yield

import pytest

from gridgov.accounts.choices import Role

pytestmark = pytest.mark.django_db


def test_home_lists_each_root_by_name_for_a_user_with_two_posts(client):
    from gridgov.accounts.models import Assignment, User
    from gridgov.regions.models import Region

    user = User.objects.create(username="two-villages")
    a, b = Region.objects.filter(level=3, parent_id="420881103").order_by("code")[:2]
    Assignment.objects.create(user=user, role=Role.GRID_ADMIN, region=a)
    Assignment.objects.create(user=user, role=Role.GRID_ADMIN, region=b)
    client.force_login(user)
    html = client.get("/").content.decode()
    assert a.name in html and b.name in html
    assert f"/regions/{a.code}/" in html

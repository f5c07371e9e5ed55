from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.core.testing import user_with_role
from gridgov.regions.models import Region
from gridgov.video.models import Camera

SECRET_SOURCE = "rtsp://admin:Pa55w0rd@10.77.66.55:554/Streaming/Channels/101"


@pytest.fixture
def video(db):
    """Two towns of the seeded demo, a camera in each (with a secret stream source), the users around
    them and a grant to the first town's 综治中心 for its own town."""
    from gridgov.video.models import AccessGrant
    from gridgov.video.services import grant_create

    # The demo's standing grants would hide what each test sets up: they end before the test starts.
    AccessGrant.objects.filter(revoked_at__isnull=True).update(revoked_at=timezone.now() - timedelta(seconds=1))
    town_a, town_b = list(Region.objects.filter(level=2).order_by("code")[:2])
    grid_a = Region.objects.filter(level=4, code__startswith=town_a.code).order_by("code").first()
    grid_b = Region.objects.filter(level=4, code__startswith=town_b.code).order_by("code").first()
    cam_a = Camera.objects.create(code="T-CAM-A", name="村委会门口", grid=grid_a, lon=112.6, lat=31.1,
                                  stream_source=SECRET_SOURCE)
    cam_b = Camera.objects.create(code="T-CAM-B", name="集镇路口", grid=grid_b, lon=112.7, lat=31.2,
                                  stream_source=SECRET_SOURCE + "b")
    centre = user_with_role(Role.CITY_OPERATOR)
    op_a = user_with_role(Role.TOWN_OPERATOR, town_a.code)
    op_b = user_with_role(Role.TOWN_OPERATOR, town_b.code)
    now = timezone.now()
    grant = grant_create(acting_user=centre, purpose="镇综治中心日常巡看", valid_from=now - timedelta(hours=1),
                         valid_until=now + timedelta(days=30), grantee_role=Role.TOWN_OPERATOR,
                         grantee_region_code=town_a.code, scope_region_code=town_a.code)
    return type("World", (), {
        "town_a": town_a, "town_b": town_b, "grid_a": grid_a, "grid_b": grid_b, "cam_a": cam_a, "cam_b": cam_b,
        "centre": centre, "op_a": op_a, "op_b": op_b, "grant": grant,
        "grid_worker": user_with_role(Role.GRID_WORKER, grid_a.code),
        "grid_admin": user_with_role(Role.GRID_ADMIN, grid_a.code[:12]),
        "auditor": user_with_role(Role.AUDITOR),
        "admin": user_with_role(Role.SYSADMIN),
    })

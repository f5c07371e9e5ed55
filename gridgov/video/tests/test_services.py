from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.core.testing import user_with_role
from gridgov.video import conf, media
from gridgov.video.access import prefix_q, watch_grant
from gridgov.video.choices import CameraStatus, ReviewOutcome, ViewEnd
from gridgov.video.models import AccessGrant, Camera, FootageReview, ViewSession
from gridgov.video.services import (
    grant_create,
    grant_revoke,
    hash_token,
    maintenance_record,
    review_record,
    view_close_idle,
    view_start,
)

from .conftest import SECRET_SOURCE

pytestmark = pytest.mark.django_db


# --- grant scope and expiry ------------------------------------------------------------------------------

def test_grant_covers_its_subtree_and_its_grantees_only(video):
    assert watch_grant(video.op_a, video.cam_a) == video.grant
    assert watch_grant(video.op_a, video.cam_b) is None  # another town
    assert watch_grant(video.op_b, video.cam_a) is None  # another town's centre is not the grantee
    assert watch_grant(video.centre, video.cam_a) is None  # the city centre grants, it holds no grant here


def test_grant_period_and_revocation(video):
    now = timezone.now()
    AccessGrant.objects.filter(pk=video.grant.pk).update(valid_until=now - timedelta(seconds=1),
                                                         valid_from=now - timedelta(days=1))
    assert watch_grant(video.op_a, video.cam_a) is None  # expired
    AccessGrant.objects.filter(pk=video.grant.pk).update(valid_from=now + timedelta(hours=1),
                                                         valid_until=now + timedelta(days=1))
    assert watch_grant(video.op_a, video.cam_a) is None  # not yet valid
    AccessGrant.objects.filter(pk=video.grant.pk).update(valid_from=now - timedelta(hours=1))
    assert watch_grant(video.op_a, video.cam_a) == video.grant
    grant_revoke(acting_user=video.centre, grant_id=video.grant.pk, reason="专项行动结束")
    assert watch_grant(video.op_a, video.cam_a) is None


def test_department_grant_and_camera_list_grant(video):
    station = Department.objects.get(code=f"GAJ-{video.town_b.code}")
    staff = user_with_role(Role.DEPT_STAFF, department_code=station.code)
    assert watch_grant(staff, video.cam_b) is None
    now = timezone.now()
    grant = grant_create(acting_user=video.centre, purpose="派出所查看辖区视频", valid_from=now,
                         valid_until=now + timedelta(days=1), grantee_department_code=station.code,
                         camera_codes=[video.cam_b.code])
    assert watch_grant(staff, video.cam_b) == grant
    assert watch_grant(staff, video.cam_a) is None  # not on the list


def test_county_role_grant_covers_every_town_centre(video):
    now = timezone.now()
    grant = grant_create(acting_user=video.centre, purpose="全市镇综治中心汛期巡看", valid_from=now,
                         valid_until=now + timedelta(days=1), grantee_role=Role.TOWN_OPERATOR,
                         grantee_region_code="420881", scope_region_code="420881")
    assert watch_grant(video.op_b, video.cam_a) == grant


@pytest.mark.parametrize("kwargs, field", [
    ({"grantee_role": Role.GRID_WORKER, "grantee_region_code": "420881"}, "grantee_role"),
    ({"grantee_role": Role.DEPT_STAFF, "grantee_region_code": "420881"}, "grantee_role"),
    ({}, "grantee"),
    ({"grantee_department_code": "NOPE"}, "grantee"),
    ({"grantee_role": Role.TOWN_OPERATOR, "grantee_region_code": "420881", "scope_region_code": "",
      "camera_codes": []}, "scope"),
])
def test_bad_grants_are_refused_and_write_nothing(video, kwargs, field):
    now = timezone.now()
    before, audits = AccessGrant.objects.count(), AuditEntry.objects.count()
    base = {"scope_region_code": video.town_a.code}
    base.update(kwargs)
    with pytest.raises(ValidationFailed) as exc:
        grant_create(acting_user=video.centre, purpose="测试授权事由", valid_from=now,
                     valid_until=now + timedelta(days=1), **base)
    assert exc.value.extra.get("field") == field
    assert AccessGrant.objects.count() == before and AuditEntry.objects.count() == audits


def test_only_the_city_centre_grants(video):
    now = timezone.now()
    with pytest.raises(PermissionDenied):
        grant_create(acting_user=video.op_a, purpose="自己给自己授权", valid_from=now,
                     valid_until=now + timedelta(days=1), grantee_role=Role.TOWN_OPERATOR,
                     grantee_region_code=video.town_a.code, scope_region_code=video.town_a.code)
    with pytest.raises(PermissionDenied):
        grant_revoke(acting_user=video.op_a, grant_id=video.grant.pk, reason="越权撤销")
    assert AccessGrant.objects.get(pk=video.grant.pk).revoked_at is None


def test_grant_changes_are_audited(video):
    entry = AuditEntry.objects.filter(action="video.grant.create", object_id=str(video.grant.pk)).get()
    assert entry.actor == video.centre and entry.changes["scope_region"] == video.town_a.code
    ticket = view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, purpose="核实占道经营")
    grant_revoke(acting_user=video.centre, grant_id=video.grant.pk, reason="专项行动结束")
    entry = AuditEntry.objects.filter(action="video.grant.revoke", object_id=str(video.grant.pk)).get()
    assert entry.changes["reason"] == "专项行动结束" and entry.changes["views_ended"] == 1
    view = ViewSession.objects.get(pk=ticket.view.pk)
    assert view.ended_at is not None and view.end_reason == ViewEnd.GRANT_LAPSED
    with pytest.raises(ValidationFailed):
        grant_revoke(acting_user=video.centre, grant_id=video.grant.pk, reason="再撤一次")


# --- tokens --------------------------------------------------------------------------------------------

def test_grid_worker_never_gets_a_token(video):
    now = timezone.now()
    # Even a grant naming the worker's village for a role the worker also... cannot exist for grid workers.
    with pytest.raises(ValidationFailed):
        grant_create(acting_user=video.centre, purpose="给网格员授权", valid_from=now,
                     valid_until=now + timedelta(days=1), grantee_role=Role.GRID_WORKER,
                     grantee_region_code=video.grid_a.code, scope_region_code=video.town_a.code)
    before = ViewSession.objects.count()
    with pytest.raises(PermissionDenied):
        view_start(acting_user=video.grid_worker, camera_id=video.cam_a.pk, purpose="想看看村口")
    assert watch_grant(video.grid_worker, video.cam_a) is None
    assert ViewSession.objects.count() == before


def test_token_is_bound_and_only_its_hash_is_stored(video):
    ticket = view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, purpose="核实群众反映的问题")
    view = ticket.view
    assert view.token_hash == hash_token(ticket.token) and ticket.token not in view.token_hash
    assert view.user == video.op_a and view.camera == video.cam_a and view.grant == video.grant
    ttl = (view.token_expires_at - view.issued_at).total_seconds()
    assert ttl == conf.token_ttl_seconds()
    assert AuditEntry.objects.filter(action="video.view.issue", object_id=str(view.pk)).exists()


def test_view_needs_purpose_or_visible_case_and_a_grant(video):
    with pytest.raises(ValidationFailed):
        view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, purpose=" ")
    with pytest.raises(ValidationFailed):
        view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, case_number="2099010100001")
    with pytest.raises(NotFound):  # out of scope and not granted: does not exist for this user
        view_start(acting_user=video.op_a, camera_id=video.cam_b.pk, purpose="看看别的镇")
    from gridgov.cases.models import Case

    case = Case.objects.filter(prefix_q("region_id", video.town_a.code)).order_by("id").first()
    if case is not None:
        ticket = view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, case_number=case.number)
        assert ticket.view.case == case and case.number in ticket.view.purpose


# --- the media server's questions ----------------------------------------------------------------------

def _form(**fields) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            q.appendlist(key, v)
    return q


def test_play_checks(video):
    ticket = view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, purpose="核实群众反映的问题")
    play = {"call": "play", "app": "live", "name": "T-CAM-A", "addr": "10.0.0.9"}
    assert not media.rtmp_callback(_form(**play)).allowed  # no token
    assert not media.rtmp_callback(_form(**{**play, "name": ["T-CAM-A", "T-CAM-B"], "token": ticket.token})).allowed
    assert not media.rtmp_callback(_form(**{**play, "app": "other", "token": ticket.token})).allowed
    assert not media.rtmp_callback(_form(**{**play, "name": "T-CAM-B", "token": ticket.token})).allowed
    assert ViewSession.objects.get(pk=ticket.view.pk).started_at is None
    assert media.rtmp_callback(_form(**{**play, "token": ticket.token})).allowed
    assert not media.rtmp_callback(_form(**{**play, "token": ticket.token})).allowed  # one play per token
    update = {**play, "call": "update_play", "token": ticket.token}
    assert media.rtmp_callback(_form(**update)).allowed
    ViewSession.objects.filter(pk=ticket.view.pk).update(token_expires_at=timezone.now() - timedelta(seconds=1))
    answer = media.rtmp_callback(_form(**update))
    assert not answer.allowed and answer.reason == "token_expired"
    view = ViewSession.objects.get(pk=ticket.view.pk)
    assert view.end_reason == ViewEnd.TOKEN_EXPIRED and view.client_addr == "10.0.0.9"
    assert AuditEntry.objects.filter(action="video.play.refused").count() >= 5


def test_publisher_key_status_and_updates(video):
    cam = video.cam_a
    publish = {"call": "publish", "app": "live", "name": cam.code}
    assert not media.rtmp_callback(_form(**publish, key="wrong")).allowed
    assert not media.rtmp_callback(_form(**{**publish, "name": "NOT-REGISTERED"}, key="x")).allowed
    assert Camera.objects.get(pk=cam.pk).status == CameraStatus.OFFLINE
    assert media.rtmp_callback(_form(**publish, key=conf.publish_key(cam.code))).allowed
    assert Camera.objects.get(pk=cam.pk).status == CameraStatus.ONLINE
    # on_update for a publisher must always be 2xx, or nginx cuts the camera's push.
    assert media.rtmp_callback(_form(**{**publish, "call": "update_publish"})).allowed
    assert media.rtmp_callback(_form(**{**publish, "call": "publish_done"})).allowed
    cam = Camera.objects.get(pk=cam.pk)
    assert cam.status == CameraStatus.OFFLINE and cam.last_seen_at is not None


def test_hls_checks_and_idle_close(video):
    ticket = view_start(acting_user=video.op_a, camera_id=video.cam_a.pk, purpose="HLS 查看路口")
    t = ticket.token
    assert media.parse_hls_uri(f"/hls/t/{t}/T-CAM-A-12.ts") == (t, "T-CAM-A")
    assert media.parse_hls_uri(f"/hls/t/{t}/../T-CAM-A.m3u8") is None
    assert media.parse_hls_uri(f"/hls/t/{t}/T-CAM-A.mp4") is None
    assert not media.hls_check(f"/hls/t/{t}/T-CAM-B.m3u8").allowed
    assert media.hls_check(f"/hls/t/{t}/T-CAM-A.m3u8?x=1").allowed
    assert media.hls_check(f"/hls/t/{t}/T-CAM-A-3.ts").allowed
    assert view_close_idle(now=timezone.now() + timedelta(minutes=5)) >= 1
    assert ViewSession.objects.get(pk=ticket.view.pk).end_reason == ViewEnd.IDLE
    assert not media.hls_check(f"/hls/t/{t}/T-CAM-A.m3u8").allowed


# --- maintenance and reviews ---------------------------------------------------------------------------

def test_maintenance_can_mark_a_fault_but_never_online(video):
    entry = maintenance_record(acting_user=video.grid_admin, camera_id=video.cam_a.pk, kind="repair",
                               performed_on=timezone.localdate(), note="镜头进水，已报修", status_after="fault")
    assert entry.pk and Camera.objects.get(pk=video.cam_a.pk).status == CameraStatus.FAULT
    with pytest.raises(ValidationFailed):
        maintenance_record(acting_user=video.grid_admin, camera_id=video.cam_a.pk, kind="repair",
                           performed_on=timezone.localdate(), note="修好了", status_after="online")
    with pytest.raises(NotFound):
        maintenance_record(acting_user=video.grid_admin, camera_id=video.cam_b.pk, kind="inspection",
                           performed_on=timezone.localdate(), note="巡检正常")


def test_review_goes_on_the_case_timeline_and_into_statistics(video):
    from gridgov.cases.models import Case, CaseEvent
    from gridgov.video.selectors import review_stats

    case = Case.objects.filter(prefix_q("region_id", video.town_a.code)).order_by("id").first()
    assert case is not None, "the demo seeds cases in every town"
    earlier = FootageReview.objects.filter(case=case).count()  # the demo's own reviews may include this case
    now = timezone.now()
    review = review_record(acting_user=video.op_a, camera_id=video.cam_a.pk, case_number=case.number,
                           footage_from=now - timedelta(hours=3), footage_to=now - timedelta(hours=2),
                           outcome=ReviewOutcome.HELPFUL, finding="14:05 一辆三轮车倾倒垃圾，车牌清晰")
    event = CaseEvent.objects.filter(case=case, action="video_review").latest("id")
    assert "T-CAM-A" in event.note and event.data["review"] == review.pk
    with pytest.raises(ValidationFailed):
        review_record(acting_user=video.op_a, camera_id=video.cam_a.pk, case_number=case.number,
                      footage_from=now - timedelta(hours=1), footage_to=now - timedelta(hours=2),
                      outcome=ReviewOutcome.HELPFUL, finding="倒序时间")
    assert FootageReview.objects.filter(case=case).count() == earlier + 1
    month = timezone.localdate().strftime("%Y-%m")
    row = next(r for r in review_stats(user=video.op_a) if r["month"] == month)
    assert row["helped_cases"] >= 1 and row["reviewed_cases"] >= row["helped_cases"]


def test_stream_source_is_encrypted_at_rest(video):
    with connection.cursor() as cursor:
        cursor.execute("SELECT stream_source FROM video_camera WHERE id = %s", [video.cam_a.pk])
        stored = cursor.fetchone()[0]
    assert SECRET_SOURCE not in stored and "10.77.66.55" not in stored
    assert Camera.objects.get(pk=video.cam_a.pk).stream_source == SECRET_SOURCE

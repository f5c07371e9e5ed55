"""Recording visits and patrols: who may, what is checked, what a refusal leaves behind (nothing)."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from gridgov.core.models import AuditEntry
from gridgov.regions.gcj02 import wgs84_to_gcj02
from gridgov.visits import services
from gridgov.visits.models import Need, Patrol, PatrolTrackBatch, Visit

from . import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(grid):
    person = f.make_resident(grid, name="留守娃")
    f.make_tag(person, "left_behind_child")
    return person


def record(worker, resident, **kwargs):
    defaults = {"visited_at": timezone.now(), "lon": None, "lat": None}
    return services.visit_record(acting_user=worker, resident=resident, **{**defaults, **kwargs})


def counts():
    return (Visit.objects.count(), Need.objects.count(), AuditEntry.objects.filter(action="visit.record").count())


def test_a_visit_inside_the_grid_is_ok_and_audited(grid, worker, child):
    visit = record(worker, child, lon=grid.centroid_lon, lat=grid.centroid_lat, accuracy_m=15,
                   findings="孩子状态良好", checklist={"监护是否到位": True, "上学与作业": False},
                   needs=[{"kind": "service", "text": "申请临时救助"}, {"kind": "case", "text": "门前路灯坏了"}])
    assert visit.location_check == "ok" and visit.distance_to_grid_m == 0
    assert visit.region_id == grid.code and visit.visit_date == timezone.localdate()
    assert [(c["item"], c["checked"]) for c in visit.checklist] == [
        ("监护是否到位", True), ("上学与作业", False), ("饮食与安全", False), ("与在外父母联系情况", False)]
    assert [(n.kind, n.status, n.region_id) for n in visit.needs.all()] == [
        ("service", "recorded", grid.code), ("case", "recorded", grid.code)]
    entry = AuditEntry.objects.get(action="visit.record", object_id=str(visit.pk))
    assert entry.region_code == grid.code and entry.changes["location_check"] == "ok"
    assert "孩子状态良好" not in str(entry.changes)


def test_gps_tolerance_is_200_m_plus_accuracy(grid, worker, child):
    metres_per_deg_lon = 111_195 * 0.8535  # cos(31.4°)
    east = grid.max_lon
    lat = grid.centroid_lat
    just_inside = record(worker, child, lon=east + 150 / metres_per_deg_lon, lat=lat)
    assert just_inside.location_check == "ok" and 140 < just_inside.distance_to_grid_m < 160
    outside = record(worker, child, lon=east + 300 / metres_per_deg_lon, lat=lat)
    assert outside.location_check == "outside_grid" and 290 < outside.distance_to_grid_m < 310
    # The same spot with a poor fix (150 m) is within 200 + 150.
    poor_fix = record(worker, child, lon=east + 300 / metres_per_deg_lon, lat=lat, accuracy_m=150)
    assert poor_fix.location_check == "ok"
    # A very poor fix does not stretch the tolerance beyond 200 + 500 m.
    far = record(worker, child, lon=east + 900 / metres_per_deg_lon, lat=lat, accuracy_m=5000)
    assert far.location_check == "outside_grid"
    assert record(worker, child).location_check == "no_gps"


def test_gcj02_positions_are_converted_before_the_check(grid, worker, child):
    g_lon, g_lat = wgs84_to_gcj02(grid.centroid_lon, grid.centroid_lat)
    # Taken as WGS84, the GCJ-02 offset (some 500 m here) may push it out; converted, it is the centre.
    visit = record(worker, child, lon=g_lon, lat=g_lat, crs="gcj02")
    assert visit.location_check == "ok" and visit.distance_to_grid_m == 0
    assert abs(visit.lon - grid.centroid_lon) < 1e-6 and abs(visit.lat - grid.centroid_lat) < 1e-6


def test_client_id_replay_returns_the_same_visit(worker, child):
    cid = uuid.uuid4()
    first = record(worker, child, client_id=cid, needs=[{"kind": "other", "text": "想了解医保"}])
    before = counts()
    again = record(worker, child, client_id=str(cid), needs=[{"kind": "other", "text": "想了解医保"}],
                   visited_at=timezone.now() - timedelta(days=30))  # even when the phone comes back late
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert counts() == before


def test_client_id_of_another_worker_is_a_conflict(grid, worker, child):
    other = f.make_worker(grid)
    cid = uuid.uuid4()
    record(worker, child, client_id=cid)
    before = counts()
    with pytest.raises(ApplicationError) as exc:
        record(other, child, client_id=cid)
    assert exc.value.status == 409 and exc.value.code == "client_id_conflict"
    assert counts() == before


@pytest.mark.parametrize("kwargs, code", [
    # Offsets, not instants: this list is built at collection, long before the test runs.
    ({"visited_at": timedelta(minutes=10)}, "time_in_future"),
    ({"visited_at": -timedelta(days=8)}, "time_too_old"),
    ({"lon": 200.0, "lat": 31.0}, "invalid_position"),
    ({"lon": 112.5, "lat": None}, "invalid_position"),
    ({"lon": float("nan"), "lat": 31.0}, "invalid_position"),
    ({"lon": 112.5, "lat": 31.4, "accuracy_m": -3}, "invalid_accuracy"),
    ({"crs": "bd09"}, "invalid_crs"),
    ({"findings": "很" * 2001}, "findings_too_long"),
    ({"needs": [{"kind": "wish", "text": "x"}]}, "invalid_need"),
    ({"checklist": {"服药情况": True}}, "invalid_checklist"),
    ({"photo": SimpleUploadedFile("a.jpg", b"GIF89a" + b"\x00" * 50, content_type="image/jpeg")}, "invalid_photo"),
    ({"photo": SimpleUploadedFile("a.jpg", f.JPEG + b"\x00" * (10 * 1024 * 1024), content_type="image/jpeg")},
     "photo_too_large"),
])
def test_bad_input_is_refused_and_changes_nothing(worker, child, kwargs, code):
    if isinstance(kwargs.get("visited_at"), timedelta):
        kwargs = {**kwargs, "visited_at": timezone.now() + kwargs["visited_at"]}
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        record(worker, child, **kwargs)
    assert exc.value.code == code and exc.value.message
    assert counts() == before


def test_five_minutes_of_clock_skew_are_allowed(worker, child):
    assert record(worker, child, visited_at=timezone.now() + timedelta(minutes=4)).pk


def test_other_grids_resident_is_not_found_and_changes_nothing(grid2, worker, worker2, child):
    before = counts()
    with pytest.raises(NotFound):
        record(worker2, child)
    with pytest.raises(NotFound):
        record(worker, 999_999_999)
    assert counts() == before


def test_roles_that_do_not_visit_cannot_record(worker, cadre, town_operator, child):
    before = counts()
    for user in (cadre, town_operator):
        with pytest.raises(PermissionDenied):
            record(user, child)
    assert counts() == before


def test_moved_out_resident_cannot_be_visited(grid, worker):
    gone = f.make_resident(grid, state="moved_out")
    with pytest.raises(NotFound):
        record(worker, gone)


def test_photo_is_stored_under_visits_year_month_with_a_safe_name(worker, child, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = SimpleUploadedFile("../../etc/passwd.png", f.PNG, content_type="text/plain")
    visit = record(worker, child, photo=photo)
    now = timezone.now()
    assert visit.photo.name.startswith(f"visits/{now:%Y}/{now:%m}/") and visit.photo.name.endswith(".png")
    assert (tmp_path / visit.photo.name).read_bytes() == f.PNG


# --- patrols ---------------------------------------------------------------------------------------------

def test_patrol_start_points_end_distance(grid, worker):
    start = timezone.now() - timedelta(minutes=30)
    patrol = services.patrol_start(acting_user=worker, started_at=start)
    assert patrol.region_id == grid.code and patrol.is_open
    lat = grid.centroid_lat
    t0 = start.timestamp()
    # 100 m east every minute along a line: 10 points, 900 m; one glitch (5 km away) is ignored.
    step = 100 / (111_195 * 0.8535)
    points = [{"t": t0 + 60 * i, "lon": grid.min_lon + step * i, "lat": lat, "accuracy_m": 10} for i in range(10)]
    glitch = {"t": t0 + 60 * 4 + 30, "lon": grid.min_lon + 0.05, "lat": lat, "accuracy_m": 10}
    batch = uuid.uuid4()
    services.patrol_points_add(acting_user=worker, patrol=patrol, points=points[:5] + [glitch], batch_id=batch)
    again = services.patrol_points_add(acting_user=worker, patrol=patrol.pk, points=points[:5], batch_id=batch)
    assert again.replayed and PatrolTrackBatch.objects.filter(patrol=patrol).count() == 1
    services.patrol_points_add(acting_user=worker, patrol=patrol, points=points[4:])  # overlap is deduplicated
    ended = services.patrol_end(acting_user=worker, patrol=patrol, findings="3 组路灯不亮")
    assert ended.point_count == 11 and abs(ended.distance_m - 900) < 5
    assert ended.findings == "3 组路灯不亮" and not ended.is_open
    with pytest.raises(ApplicationError) as exc:
        services.patrol_points_add(acting_user=worker, patrol=patrol, points=points[:1])
    assert exc.value.code == "patrol_ended"
    assert AuditEntry.objects.filter(object_type="visits.patrol", object_id=str(patrol.pk)).count() == 4


def test_one_open_patrol_per_worker_and_only_ones_own(grid, worker, worker2, town_operator):
    patrol = services.patrol_start(acting_user=worker)
    with pytest.raises(ApplicationError) as exc:
        services.patrol_start(acting_user=worker)
    assert exc.value.status == 409 and exc.value.extra["patrol_id"] == patrol.pk
    with pytest.raises(NotFound):
        services.patrol_end(acting_user=worker2, patrol=patrol)
    with pytest.raises(PermissionDenied):
        services.patrol_end(acting_user=town_operator, patrol=patrol)
    with pytest.raises(NotFound):
        services.patrol_start(acting_user=worker, grid=worker2.assignments.get().region_id)
    assert Patrol.objects.filter(worker=worker).count() == 1


def test_patrol_points_are_validated(worker):
    patrol = services.patrol_start(acting_user=worker)
    now = timezone.now().timestamp()
    for bad in ([], [{"t": now, "lon": 500, "lat": 31}], [{"t": now - 86400, "lon": 112.5, "lat": 31.4}],
                [{"t": now + 3600, "lon": 112.5, "lat": 31.4}], [{"lon": 112.5, "lat": 31.4}]):
        with pytest.raises(ValidationFailed):
            services.patrol_points_add(acting_user=worker, patrol=patrol, points=bad)
    assert not PatrolTrackBatch.objects.filter(patrol=patrol).exists()


def test_a_need_is_forwarded_once(grid, worker, worker2, child):
    from gridgov.visits.selectors import need_list

    visit = record(worker, child, needs=[{"kind": "case", "text": "危房"}])
    need = visit.needs.get()
    assert [n.pk for n in need_list(user=worker, status="recorded")] == [need.pk]
    assert not need_list(user=worker2).exists()
    with pytest.raises(NotFound):
        services.need_forward(acting_user=worker2, need=need, forwarded_ref="AJ2026-0001")
    with pytest.raises(ValidationFailed):
        services.need_forward(acting_user=worker, need=need, forwarded_ref=" ")
    done = services.need_forward(acting_user=worker, need=need.pk, forwarded_ref="AJ2026-0001")
    assert (done.status, done.forwarded_ref) == ("forwarded", "AJ2026-0001")
    with pytest.raises(ApplicationError) as exc:
        services.need_forward(acting_user=worker, need=need, forwarded_ref="AJ2026-0002")
    assert exc.value.status == 409
    assert Need.objects.get(pk=need.pk).forwarded_ref == "AJ2026-0001"

"""雪亮工程 demo: three cameras in every village and community (bought with the 30,000 yuan village
subsidy), most online, a few offline or faulty with a maintenance entry; standing grants for each
town's 综治中心 and 派出所 (their own town), the city centre and the city police bureau (the whole
county); a few past views and footage reviews on cases, so the log, the case timeline and the
statistics have something to show. Bulk inserts; deterministic for a seed.
"""

import random
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, Department
from gridgov.core.audit import audit_record
from gridgov.regions.models import Region
from gridgov.video.choices import CameraKind, CameraStatus, Funding, MaintenanceKind, Protocol, ReviewOutcome, ViewEnd
from gridgov.video.models import AccessGrant, Camera, CameraMaintenance, FootageReview, ViewSession
from gridgov.video.services import hash_token

PER_VILLAGE = 3
SPOTS = ["村委会门口", "村口", "主干道路口", "文化广场", "学校门口", "河堤", "集贸市场", "卫生室"]
KINDS = [CameraKind.BULLET, CameraKind.BULLET, CameraKind.DOME, CameraKind.PTZ, CameraKind.PANORAMIC]
BATCH = 2000


def seed_video(*, seed: int, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    rng = random.Random(seed * 7 + 11)
    now = timezone.now().replace(microsecond=0)
    centre = (Assignment.objects.filter(role=Role.CITY_OPERATOR, is_active=True).select_related("user")
              .order_by("id").first())
    if centre is None:
        return {"cameras": 0}
    centre = centre.user
    first_grid: dict[str, Region] = {}
    for grid in Region.objects.filter(level=4).order_by("code").only("code", "centroid_lon", "centroid_lat"):
        first_grid.setdefault(grid.code[:12], grid)
    villages = list(Region.objects.filter(level=3).order_by("code").values_list("code", "name"))
    cameras = []
    for code, name in villages:
        grid = first_grid.get(code)
        if grid is None or grid.centroid_lon is None:
            continue
        installed = (now - timedelta(days=rng.randint(200, 1500))).date()
        for i, spot in enumerate(rng.sample(SPOTS, PER_VILLAGE), start=1):
            roll = rng.random()
            status = CameraStatus.ONLINE if roll < 0.9 else CameraStatus.OFFLINE if roll < 0.97 else CameraStatus.FAULT
            seen = now - timedelta(seconds=rng.randint(5, 60)) if status == CameraStatus.ONLINE else \
                now - timedelta(hours=rng.randint(3, 200))
            cameras.append(Camera(
                code=f"{code}-{i:02d}", name=f"{name}{spot}", grid_id=grid.code,
                lon=round(grid.centroid_lon + rng.uniform(-0.002, 0.002), 6),
                lat=round(grid.centroid_lat + rng.uniform(-0.002, 0.002), 6),
                kind=rng.choice(KINDS), owner=f"{name}村（居）委会",
                stream_source=f"rtsp://10.{int(code[6:9]) % 250}.{int(code[9:12]) % 250}.{10 + i}:554/h264/ch1/main",
                installed_on=installed, funding=Funding.VILLAGE_SUBSIDY, funding_yuan=10000, status=status,
                last_seen_at=seen, status_changed_at=seen))
    Camera.objects.bulk_create(cameras, batch_size=BATCH)
    by_code = {c.code: c for c in Camera.objects.only("id", "code", "grid_id", "status", "name")}
    maintenance = [
        CameraMaintenance(camera=c, kind=MaintenanceKind.REPAIR if c.status == CameraStatus.FAULT
                          else MaintenanceKind.INSPECTION, performed_on=(now - timedelta(days=2)).date(),
                          note="镜头进水，图像模糊，已报厂家维修" if c.status == CameraStatus.FAULT
                          else "巡检发现离线，光纤收发器断电，已通知村委会",
                          status_after=c.status, recorded_by=centre)
        for c in by_code.values() if c.status != CameraStatus.ONLINE
    ]
    CameraMaintenance.objects.bulk_create(maintenance, batch_size=BATCH)

    # Standing grants: every town's 综治中心 and 派出所 for their own town; the city centre and the
    # city police bureau for the county. A year at a time: the centre renews them.
    start, until = now - timedelta(days=30), now + timedelta(days=335)
    towns = list(Region.objects.filter(level=2).order_by("code").values_list("code", "name"))
    county = Region.objects.filter(level=1).values_list("code", flat=True).first()
    stations = dict(Department.objects.filter(code__startswith="GAJ-").values_list("code", "id"))
    grants = []
    for code, name in towns:
        grants.append(AccessGrant(grantee_role=Role.TOWN_OPERATOR, grantee_region_id=code, scope_region_id=code,
                                  valid_from=start, valid_until=until, purpose=f"{name}综治中心日常视频巡查",
                                  granted_by=centre, granted_at=start))
        if f"GAJ-{code}" in stations:
            grants.append(AccessGrant(grantee_department_id=stations[f"GAJ-{code}"], scope_region_id=code,
                                      valid_from=start, valid_until=until, purpose=f"{name}派出所辖区治安防控",
                                      granted_by=centre, granted_at=start))
    grants.append(AccessGrant(grantee_role=Role.CITY_OPERATOR, grantee_region_id=county, scope_region_id=county,
                              valid_from=start, valid_until=until, purpose="市网格化管理中心指挥调度",
                              granted_by=centre, granted_at=start))
    police = Department.objects.filter(code="GAJ").values_list("id", flat=True).first()
    if police:
        grants.append(AccessGrant(grantee_department_id=police, scope_region_id=county, valid_from=start,
                                  valid_until=until, purpose="市公安局治安防控与案件侦查", granted_by=centre,
                                  granted_at=start))
    AccessGrant.objects.bulk_create(grants, batch_size=BATCH)
    town_grant = {g.grantee_region_id: g for g in AccessGrant.objects.filter(grantee_role=Role.TOWN_OPERATOR)}

    # Past views by the town centres, and footage reviews on some of the towns' cases.
    operators = {}
    for a in Assignment.objects.filter(role=Role.TOWN_OPERATOR, is_active=True).order_by("id"):
        operators.setdefault(a.region_id, a.user_id)
    views, reviews, events = [], [], []
    from gridgov.cases.models import Case, CaseEvent

    cams_by_village: dict[str, list[Camera]] = {}
    for c in by_code.values():
        cams_by_village.setdefault(c.grid_id[:12], []).append(c)
    cases = list(Case.objects.order_by("id").only("id", "number", "region_id", "created_at")[:4000:100])
    for n, case in enumerate(cases):
        town, village = case.region_id[:9], case.region_id[:12]
        cams, user_id, grant = cams_by_village.get(village), operators.get(town), town_grant.get(town)
        if not cams or not user_id or not grant:
            continue
        cam = cams[n % len(cams)]
        at = max(case.created_at + timedelta(hours=2), start + timedelta(minutes=n))
        if at > now:
            at = now - timedelta(hours=1)
        views.append(ViewSession(user_id=user_id, camera=cam, grant=grant, purpose=f"办理案件 {case.number}",
                                 case=case, token_hash=hash_token(f"demo-{seed}-{n}"), token_expires_at=at
                                 + timedelta(minutes=15), issued_at=at, protocol=Protocol.HLS,
                                 started_at=at + timedelta(seconds=3), ended_at=at + timedelta(minutes=4),
                                 end_reason=ViewEnd.IDLE, last_checked_at=at + timedelta(minutes=4)))
        outcome = ReviewOutcome.HELPFUL if n % 3 != 2 else ReviewOutcome.NOT_HELPFUL
        finding = "画面清晰，确认了事发时间和当事人" if outcome == ReviewOutcome.HELPFUL else "夜间画面过暗，无法辨认"
        reviews.append(FootageReview(camera=cam, case=case, footage_from=case.created_at - timedelta(hours=2),
                                     footage_to=case.created_at, outcome=outcome, finding=finding,
                                     reviewer_id=user_id, created_at=at))
    ViewSession.objects.bulk_create(views, batch_size=BATCH)
    FootageReview.objects.bulk_create(reviews, batch_size=BATCH)
    for review in FootageReview.objects.select_related("camera").order_by("id"):
        events.append(CaseEvent(case_id=review.case_id, actor_id=review.reviewer_id, actor_role=Role.TOWN_OPERATOR,
                                action="video_review", created_at=review.created_at,
                                note=f"{review.camera.name}（{review.camera.code}）：{review.get_outcome_display()}。"
                                     f"{review.finding}",
                                data={"camera": review.camera.code, "review": review.pk, "outcome": review.outcome}))
    CaseEvent.objects.bulk_create(events, batch_size=BATCH)
    counts = {"cameras": len(cameras), "camera_grants": len(grants), "camera_views": len(views),
              "footage_reviews": len(reviews)}
    audit_record(actor=None, action="demo.seed.video", object_type="video.camera", changes=counts,
                 message=f"生成雪亮工程演示数据：摄像机 {len(cameras)} 台、授权 {len(grants)} 项")
    if progress:
        progress(f"雪亮工程：摄像机 {len(cameras):,} 台，授权 {len(grants)} 项，查看记录 {len(views)} 条")
    return counts

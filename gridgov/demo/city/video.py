"""Five years of camera views (雪亮工程 view log) over the demo cameras, in bulk.

The small demo's video seed (demo/video.py) installs the cameras (three a village) and this year's
standing grants. The years before had their own yearly grants, renewed by the city centre: they are
written here (expired), and every view points at the grant in force when it was issued, of the
viewer's own town (综治中心) or of the city centre for the county. Views happen in working hours,
more of them where there are more cases (the cases' seasonality), each a few minutes of HLS.
"""

import hashlib
from datetime import datetime, timedelta

import numpy as np
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment, User
from gridgov.video.choices import Protocol, ReviewOutcome, ViewEnd
from gridgov.video.models import AccessGrant, Camera, FootageReview, ViewSession

from ..people import insert_rows
from . import season

VIEWS = 300_000
PURPOSES = ["日常视频巡查", "重点部位巡查", "核实群众反映情况", "防汛值守巡查", "节假日安保巡查", "核查网格事件现场"]
VIEW_FIELDS = ["user", "camera", "grant", "purpose", "token_hash", "token_expires_at", "issued_at", "protocol",
               "started_at", "ended_at", "end_reason", "last_checked_at", "client_addr"]


def _past_grants(now: datetime, first) -> dict[tuple[str, int], int]:
    """(grantee region, year back) → grant id: last years' standing grants of the towns and the centre."""
    current = list(AccessGrant.objects.filter(grantee_role__in=[Role.TOWN_OPERATOR, Role.CITY_OPERATOR],
                                              revoked_at=None).order_by("id"))
    if not current:
        return {}
    start = min(g.valid_from for g in current)
    years = (start.date() - first).days // 365 + 1
    rows = []
    for g in current:
        for back in range(1, years + 1):
            rows.append(AccessGrant(grantee_role=g.grantee_role, grantee_region_id=g.grantee_region_id,
                                    scope_region_id=g.scope_region_id, valid_from=start - timedelta(days=365 * back),
                                    valid_until=start - timedelta(days=365 * (back - 1)), purpose=g.purpose,
                                    granted_by_id=g.granted_by_id, granted_at=start - timedelta(days=365 * back)))
    AccessGrant.objects.bulk_create(rows, batch_size=2000)
    out = {(g.grantee_region_id, 0): g.pk for g in current}
    for g in AccessGrant.objects.filter(valid_until__lte=start, grantee_role__in=[Role.TOWN_OPERATOR,
                                                                                  Role.CITY_OPERATOR]):
        out[(g.grantee_region_id, round((start - g.valid_from).days / 365))] = g.pk
    out["start"] = start
    return out


def seed_city_views(*, seed: int, total: int, now: datetime, bar=None) -> dict[str, int]:
    """Writes about `total` camera views over the five years up to `now`; returns the counts."""
    rng = np.random.default_rng([seed, 17])
    today = timezone.localdate(now)
    first, days = season.period(today)
    cameras = list(Camera.objects.order_by("id").values_list("id", "grid_id"))
    operators: dict[str, list[int]] = {}
    for region, user in (Assignment.objects.filter(role__in=[Role.TOWN_OPERATOR, Role.CITY_OPERATOR], is_active=True)
                         .order_by("id").values_list("region_id", "user_id")):
        operators.setdefault(region, []).append(user)
    grants = _past_grants(now, first)
    if not cameras or not grants or total <= 0:
        return {"camera_views_bulk": 0}
    start = grants.pop("start")
    county = next(r for r in operators if len(r) == 6)
    cam_id = np.array([c[0] for c in cameras])
    cam_town = np.array([c[1][:9] for c in cameras])

    day = np.sort(season.sample_days(rng, season.weights(first, days, "cases"), total))
    # working hours, local time; a fifth of the views are the city centre's
    minute = rng.integers(8 * 60, 18 * 60, total)
    second = rng.integers(0, 60, total)
    pick = rng.integers(0, len(cameras), total)
    by_centre = rng.random(total) < 0.2
    length = rng.integers(30, 20 * 60, total)
    purpose = rng.integers(0, len(PURPOSES), total)
    base = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = []
    for i in range(total):
        issued = base + timedelta(days=int(day[i]), minutes=int(minute[i]), seconds=int(second[i]))
        if issued >= now - timedelta(minutes=30):
            continue
        town = str(cam_town[pick[i]])
        viewer = county if by_centre[i] or town not in operators else town
        back = 0 if issued >= start else int((start - issued).days // 365) + 1
        grant = grants.get((viewer, back))
        if grant is None:
            continue
        users = operators[viewer]
        user = users[i % len(users)]
        token = hashlib.sha256(f"city-view-{seed}-{i}".encode()).hexdigest()
        began = issued + timedelta(seconds=3)
        ended = began + timedelta(seconds=int(length[i]))
        rows.append((user, int(cam_id[pick[i]]), grant, PURPOSES[purpose[i]], token, issued + timedelta(minutes=15),
                     issued, Protocol.HLS.value, began, ended, ViewEnd.IDLE.value if length[i] % 3 else
                     ViewEnd.STOPPED.value, ended, "10.8.0.2"))
        if bar and len(rows) % 10_000 == 0:
            bar.add(10_000)
    written = insert_rows(ViewSession, VIEW_FIELDS, rows)
    if bar:
        bar.add(written % 10_000)
    reviews = _reviews(rng, now, start, grants, operators, cameras)
    return {"camera_views_bulk": written, "footage_reviews_bulk": reviews}


REVIEW_SHARE = 0.03  # cases whose town centre looked at the village's footage
FINDINGS = {ReviewOutcome.HELPFUL.value: ["画面清晰，确认了事发时间和当事人", "确认了事发经过，为调解提供依据",
                                          "录像显示可疑人员及车辆去向，已提供给办案单位"],
            ReviewOutcome.NOT_HELPFUL.value: ["夜间画面过暗，无法辨认", "事发位置不在摄像机视野内"],
            ReviewOutcome.NO_FOOTAGE.value: ["该时段录像已被覆盖"]}


def _reviews(rng: np.random.Generator, now: datetime, start: datetime, grants: dict, operators: dict[str, list[int]],
             cameras: list[tuple[int, str]]) -> int:
    """Footage reviews on about 3 % of the cases (雪亮工程 helping cases, the article's figures): the
    town centre opens a camera of the case's village under the grant in force, records what it found
    (two in three helpful), and the case timeline gets its `video_review` event, as the review
    service writes them. Returns the number of reviews."""
    from gridgov.cases.models import Case, CaseEvent

    cams: dict[str, list[tuple[int, str, str]]] = {}
    for cam_id, grid, code, name in Camera.objects.order_by("id").values_list("id", "grid_id", "code", "name"):
        cams.setdefault(grid[:12], []).append((cam_id, code, name))
    rows = list(Case.objects.filter(created_at__lt=now - timedelta(hours=3)).order_by("id")
                .values_list("id", "number", "region_id", "created_at"))
    picked = np.flatnonzero(rng.random(len(rows)) < REVIEW_SHARE)
    outcome_draw = rng.random(len(picked))
    delay = rng.integers(30, 48 * 60, len(picked))
    names = dict(User.objects.filter(pk__in={u for users in operators.values() for u in users})
                 .values_list("pk", "full_name"))
    review_id = (FootageReview.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    first_review = review_id
    views, reviews, events = [], [], []
    for k, i in enumerate(picked.tolist()):
        case_id, number, region, created = rows[i]
        town, choices = region[:9], cams.get(region[:12])
        if not choices or town not in operators:
            continue
        at = min(created + timedelta(minutes=int(delay[k])), now - timedelta(hours=1))
        back = 0 if at >= start else int((start - at).days // 365) + 1
        grant = grants.get((town, back))
        if grant is None:
            continue
        cam_id, cam_code, cam_name = choices[k % len(choices)]
        user = operators[town][k % len(operators[town])]
        outcome = (ReviewOutcome.HELPFUL if outcome_draw[k] < 0.65 else ReviewOutcome.NOT_HELPFUL
                   if outcome_draw[k] < 0.95 else ReviewOutcome.NO_FOOTAGE)
        texts = FINDINGS[outcome.value]
        finding = texts[k % len(texts)]
        token = hashlib.sha256(f"city-review-{case_id}".encode()).hexdigest()
        views.append((user, cam_id, grant, f"办理案件 {number}", case_id, token, at + timedelta(minutes=15), at,
                      Protocol.HLS.value, at + timedelta(seconds=3), at + timedelta(minutes=6), ViewEnd.STOPPED.value,
                      at + timedelta(minutes=6), "10.8.0.2"))
        reviews.append((review_id, cam_id, case_id, created - timedelta(hours=2), created, outcome.value, finding,
                        user, at + timedelta(minutes=7)))
        events.append((case_id, user, names.get(user, ""), Role.TOWN_OPERATOR.value, "video_review", "", "",
                       f"{cam_name}（{cam_code}）：{outcome.label}。{finding}",
                       {"camera": cam_code, "review": review_id, "outcome": outcome.value}, at + timedelta(minutes=7)))
        review_id += 1
    insert_rows(ViewSession, [*VIEW_FIELDS[:4], "case", *VIEW_FIELDS[4:]], views)
    insert_rows(FootageReview, ["id", "camera", "case", "footage_from", "footage_to", "outcome", "finding", "reviewer",
                                "created_at"], reviews)
    # no state columns: a review changes no state (as the small demo's reviews)
    insert_rows(CaseEvent, ["case", "actor", "actor_name", "actor_role", "action", "from_state", "to_state", "note",
                            "data", "created_at"], events)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [FootageReview]):
            cursor.execute(sql)
    return review_id - first_review

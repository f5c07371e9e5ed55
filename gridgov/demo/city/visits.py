"""Five years of home visits at city scale, generated as numpy columns and written in bulk.

Who is visited: every resident with a care tag, more often the more often their tags ask for
(weight 1 / visit_every_days), never before the tag's `since`. When: days drawn from the visits'
seasonality (season.py), at the hours grid workers keep. By whom: the grid's worker. Where: the
house, with a phone's jitter; 4 % without a fix. The location check is the visit service's own
rule (inside the grid, or within 200 m + accuracy of it), computed per grid with shapely.
"""

from datetime import date

import numpy as np
import shapely
from django.db import DEFAULT_DB_ALIAS, connections

from gridgov.people.models import CareTag
from gridgov.regions.models import Region
from gridgov.visits import geo as visit_geo
from gridgov.visits.choices import Crs, LocationCheck
from gridgov.visits.models import Visit

from ..people import VISIT_FIELDS, grid_workers, insert_rows
from ..people.visits import FINDINGS
from . import season

CHUNK = 250_000
HOURS = np.array([8, 9, 9, 10, 10, 10, 11, 11, 14, 15, 15, 16, 16, 17])
UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time


def _targets():
    """Per tagged resident: id, grid, lead tag, shortest frequency, earliest since, house position."""
    rows = (CareTag.objects.order_by("resident_id", "tag_type__sort_order", "tag_type__code")
            .values_list("resident_id", "region_id", "tag_type__code", "visit_every_days", "since",
                         "resident__address__lon", "resident__address__lat"))
    out: dict[int, list] = {}
    for rid, grid, code, every, since, lon, lat in rows.iterator(chunk_size=20_000):
        t = out.get(rid)
        if t is None:
            out[rid] = [rid, grid, code, every or 30, since, lon, lat]
        else:
            t[3] = min(t[3], every or 30)
            if since and (t[4] is None or since < t[4]):
                t[4] = since
    return list(out.values())


def _checklists(db) -> dict[str, list]:
    """Per tag code: the prepared checklist value with everything checked, and with the last item not."""
    from gridgov.people.models import CareTagType

    field = Visit._meta.get_field("checklist")
    out = {}
    for t in CareTagType.objects.all():
        items = list(t.checklist or [])
        variants = []
        for missed in (False, True):
            value = [{"item": item, "checked": not (missed and i == len(items) - 1), "tag": t.code,
                      "sensitivity": t.sensitivity} for i, item in enumerate(items)]
            variants.append(field.get_db_prep_save(value, db))
        out[t.code] = variants
    return out


def _utc_text(seconds: np.ndarray, vendor: str) -> np.ndarray:
    """Epoch seconds (UTC) as the text each backend stores for an aware datetime."""
    text = np.char.replace(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "T", " ")
    return np.char.add(text, "+00:00") if vendor == "postgresql" else text


def seed_visits(*, seed: int, total: int, today: date, bar=None) -> dict[str, int]:
    """Writes about `total` visits over the five years up to `today`; returns the counts."""
    db = connections[DEFAULT_DB_ALIAS]
    rng = np.random.default_rng([seed, 7])
    targets = _targets()
    workers = grid_workers()
    if not targets or total <= 0:
        return {"visits": 0}
    first, days = season.period(today)
    w = season.weights(first, days, "visits")
    ids = np.array([t[0] for t in targets], dtype=np.int64)
    grids = np.array([t[1] for t in targets])
    leads = np.array([t[2] for t in targets])
    every = np.array([t[3] for t in targets], dtype=float)
    since = np.array([max(0, (t[4] - first).days) if t[4] else 0 for t in targets], dtype=np.int64)
    lon = np.array([t[5] if t[5] is not None else np.nan for t in targets])
    lat = np.array([t[6] if t[6] is not None else np.nan for t in targets])
    # Someone tagged recently has had fewer chances to be visited: weight by frequency and by time held.
    p = (1.0 / every) * (days - np.minimum(since, days - 1))
    who = rng.choice(len(ids), size=total, p=p / p.sum())
    day = season.sample_days(rng, w, total, since[who])
    order = np.lexsort((who, day))
    who, day = who[order], day[order]

    local_s = (np.datetime64(first, "s").astype(np.int64) + day * 86400 + rng.choice(HOURS, total) * 3600
               + rng.integers(0, 3600, total))
    visited = local_s - UTC_OFFSET_S
    entered = visited + rng.integers(60, 25 * 60, total)
    visit_date = np.datetime_as_string((np.datetime64(first) + day).astype("datetime64[D]"), unit="D")
    # Python strings, not numpy scalars: the database drivers adapt by exact type.
    visited_text, entered_text = _utc_text(visited, db.vendor).tolist(), _utc_text(entered, db.vendor).tolist()
    visit_date = visit_date.tolist()

    metres = visit_geo.M_PER_DEG
    has_fix = (rng.random(total) < 0.96) & ~np.isnan(lon[who])
    v_lon = np.round(lon[who] + np.clip(rng.normal(0, 12, total), -30, 30)
                     / (metres * np.cos(np.radians(np.nan_to_num(lat[who], nan=31.0)))), 6)
    v_lat = np.round(lat[who] + np.clip(rng.normal(0, 12, total), -30, 30) / metres, 6)
    accuracy = np.round(rng.uniform(4, 35, total), 1)
    distance = np.zeros(total)
    check = np.where(has_fix, LocationCheck.OK.value, LocationCheck.NO_GPS.value).astype(object)
    shapes = {code: shapely.from_wkb(bytes(wkb)) for code, wkb in
              Region.objects.filter(level=4).exclude(geom_wkb=None).values_list("code", "geom_wkb")}
    v_grid = grids[who]
    by_grid = np.argsort(v_grid, kind="stable")
    bounds = np.flatnonzero(np.r_[True, v_grid[by_grid][1:] != v_grid[by_grid][:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = by_grid[a:b]
        idx = idx[has_fix[idx]]
        geom = shapes.get(v_grid[idx[0]]) if len(idx) else None
        if geom is None:
            continue
        inside = shapely.contains_xy(geom, v_lon[idx], v_lat[idx])
        for i in idx[~inside]:  # few: houses near a grid's edge
            distance[i] = round(visit_geo.distance_to_polygon_m(geom, float(v_lon[i]), float(v_lat[i])), 1)
            if distance[i] > 200.0 + min(accuracy[i], 500.0):
                check[i] = LocationCheck.OUTSIDE_GRID.value

    findings_of = {code: FINDINGS.get(code, ["情况正常"]) for code in set(leads.tolist())}
    checklists = _checklists(db)
    pick = rng.integers(0, 1 << 30, total)
    missed = rng.random(total) < 0.08
    v_lead = leads[who].tolist()
    v_grid_text = v_grid.tolist()
    worker_of = {g: workers.get(g) for g in set(grids.tolist())}
    wgs84 = Crs.WGS84.value

    def rows(lo: int, hi: int):
        for i in range(lo, hi):
            lead, grid = v_lead[i], v_grid_text[i]
            fix = has_fix[i]
            texts = findings_of[lead]
            lists = checklists.get(lead) or [[], []]
            yield (grid, int(ids[who[i]]), worker_of[grid], visited_text[i], visit_date[i],
                   float(v_lon[i]) if fix else None, float(v_lat[i]) if fix else None,
                   float(accuracy[i]) if fix else None, wgs84, check[i], float(distance[i]) if fix else None,
                   "", texts[pick[i] % len(texts)], lists[int(missed[i])], None, entered_text[i])

    if any(worker_of[g] is None for g in worker_of):
        raise RuntimeError("a grid without a grid worker: seed the structure first")
    written = 0
    for lo in range(0, total, CHUNK):
        hi = min(total, lo + CHUNK)
        written += insert_rows(Visit, VISIT_FIELDS, rows(lo, hi),
                               prepared=["visited_at", "visit_date", "created_at", "checklist"])
        if bar:
            bar.add(hi - lo)
    outside = int((check == LocationCheck.OUTSIDE_GRID.value).sum())
    return {"visits": written, "visits_no_gps": int((~has_fix).sum()), "visits_outside_grid": outside}

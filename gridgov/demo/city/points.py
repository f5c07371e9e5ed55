"""Five years of the points scheme (积分制) at city scale: about 2,000,000 ledger entries, in bulk.

Who: a share of the households (积分户) and some adults of those households hold points accounts,
opened at some month of the five years (the scheme spread over time). What: the monthly
inspections of every participating household (门前三包, 垃圾分类, 庭院整洁: 5 points, once a month
each) and the residents' everyday items (volunteering, patrols, helping neighbours, ...), at most
once per subject, item and month, so every item's cap holds by construction. How: each award is a
claim entered by the grid worker and approved by a village cadre (vote, events submit/approve/post),
posted as an `award` entry, rolled up into the household's score (`rollup`, delta 0) as the
services do. Residents and households exchange points at their town's shop: an order only when
the spendable points at that moment cover it, a few cancelled; the shop restocks before a good
runs out. Balances and stocks are the sums of what was written, so `verify_points_ledger` agrees.

Accounts and shops of the small points demo (demo/points.py, run before) are left untouched: this
module opens accounts only for households without one, and their residents.
"""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import F, Max
from django.utils import timezone

from gridgov.points.choices import (
    ClaimAction,
    ClaimChannel,
    ClaimSource,
    ClaimStatus,
    EntryKind,
    OrderStatus,
    StockReason,
    SubjectKind,
    Vote,
)
from gridgov.points.models import (
    Balance,
    Claim,
    ClaimEvent,
    ClaimVote,
    Goods,
    Item,
    LedgerEntry,
    Order,
    StockMovement,
    Subject,
)

from .. import points as demo_points
from ..people import insert_rows
from ..people.writing import row_preparer
from .pipeline import batches

ENTRIES = 2_000_000
HOUSEHOLD_SHARE = 0.35  # households with a points account at the end of the five years
ADULT_SHARE = 0.3  # adults of those households with an account of their own
HOUSEHOLD_ITEMS = ("V01", "V02", "V03")  # monthly inspections, 5 points, once a month
RESIDENT_ITEMS = ("M04", "S06", "M10", "M17", "V05", "V15", "S21")  # everyday items, month caps >= 1
REDEEM_EVERY = (4, 9)  # awards between two visits to the shop
RESTOCK = 200
CHANNELS = [c.value for c in ClaimChannel]
CLAIM_FIELDS = ["id", "region", "subject", "item", "points", "occurred_on", "description", "public_reason", "channel",
                "source", "reporter_name", "evidence", "evidence_file", "status", "needs_collective", "quorum",
                "entered_by", "created_at", "decided_at", "reject_reason"]
ORDER_FIELDS = ["id", "region", "subject", "goods", "shop", "quantity", "unit_cost", "total_cost", "status",
                "placed_by", "placed_at", "fulfilled_at", "fulfilled_by", "cancelled_at", "cancelled_by",
                "cancel_reason"]
VOTE_FIELDS = ["claim", "member", "decision", "reason", "created_at"]
EVENT_FIELDS = ["claim", "action", "from_status", "to_status", "actor", "note", "created_at"]
MOVE_FIELDS = ["goods", "delta", "reason", "order", "actor", "note", "created_at"]
ENTRY_FIELDS = ["region", "subject", "kind", "delta", "score_delta", "item", "claim", "order", "reference",
                "occurred_on", "actor", "posted_at", "idempotency_key"]


def _next_id(model) -> int:
    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def _subjects(rng: np.random.Generator, first: date, months: int, today: date):
    """(households, residents): new points accounts as rows [region, name, household or resident id,
    first month], residents also with the index of their household's account."""
    taken = set(Subject.objects.exclude(household=None).values_list("household_id", flat=True))
    taken_people = set(Subject.objects.exclude(resident=None).values_list("resident_id", flat=True))
    rows = list(Subject._meta.get_field("household").related_model.objects.order_by("id")
                .values_list("id", "region_id", "number", "head__name"))
    pick = rng.random(len(rows)) < HOUSEHOLD_SHARE
    households = []
    index_of: dict[int, int] = {}
    # The scheme spread over the first three years: most accounts are opened early.
    start = np.minimum((rng.random(len(rows)) ** 1.5 * 36).astype(int), months - 1)
    for (hid, region, number, head), chosen, m in zip(rows, pick.tolist(), start.tolist(), strict=True):
        if chosen and hid not in taken:
            index_of[hid] = len(households)
            households.append([region, f"{head}户" if head else f"{number}号户", hid, m])
    adult = today - timedelta(days=18 * 366)
    people = []
    for rid, region, name, hid, born in (Subject._meta.get_field("resident").related_model.objects
                                         .filter(state="active", household__isnull=False).order_by("id")
                                         .values_list("id", "region_id", "name", "household_id", "birth_date")
                                         .iterator(chunk_size=20_000)):
        h = index_of.get(hid)
        if h is None or rid in taken_people or (born and born > adult) or rng.random() >= ADULT_SHARE:
            continue
        people.append([region, name, rid, max(households[h][3], int(rng.integers(0, months))), h])
    return households, people


def seed_city_points(*, seed: int, total: int, now: datetime, bar=None) -> dict[str, int]:
    """Writes about `total` ledger entries over the five years up to `now`; returns the counts."""
    from . import season

    nrng = np.random.default_rng([seed, 13])
    rng = random.Random(seed * 13 + 1)
    today = timezone.localdate(now)
    first, days = season.period(today)
    months = (today.year - first.year) * 12 + today.month - first.month + 1
    items = {i.code: i for i in Item.objects.filter(code__in=HOUSEHOLD_ITEMS + RESIDENT_ITEMS)}
    staff = demo_points._staff()
    households, people = _subjects(nrng, first, months, today)
    if not households or total <= 0:
        return {"points_entries_bulk": 0}

    # How often: the expected entries (awards, roll-ups and about a tenth for the shop) meet `total`.
    h_slots = sum(months - h[3] for h in households) * len(HOUSEHOLD_ITEMS)
    r_slots = sum(months - p[3] for p in people) * len(RESIDENT_ITEMS)
    # awards of households + 2 × awards of residents (award and roll-up) + shop ≈ total
    p_h = min(0.95, total / 1.12 / (h_slots + 2 * 0.35 * r_slots))
    p_r = min(0.95, p_h * 0.35)
    w = season.weights(first, days, "points")
    month_index = np.array([((first + timedelta(days=int(d))).year - first.year) * 12
                            + (first + timedelta(days=int(d))).month - first.month for d in range(days)])
    month_start = np.searchsorted(month_index, np.arange(months))
    month_end = np.append(month_start[1:], days)

    subject_id = _next_id(Subject)
    opened = []
    for h in households:
        h.append(subject_id)
        subject_id += 1
    for p in people:
        p.append(subject_id)
        subject_id += 1
    opened_at = {}
    for region, name, hid, m, sid in households:
        opened_at[sid] = timezone.make_aware(datetime.combine(first + timedelta(days=int(month_start[m])), time(9)))
        opened.append((sid, SubjectKind.HOUSEHOLD.value, region, name[:100], None, hid, opened_at[sid]))
    for region, name, rid, m, _h, sid in people:
        opened_at[sid] = timezone.make_aware(datetime.combine(first + timedelta(days=int(month_start[m])), time(9)))
        opened.append((sid, SubjectKind.RESIDENT.value, region, name[:100], rid, None, opened_at[sid]))
    insert_rows(Subject, ["id", "kind", "region", "name", "resident", "household", "created_at"], opened)

    # The awards: (subject index, item code, day index), drawn month by month.
    def draws(subjects, codes, p, offset):
        out = []
        starts = np.array([s[3] for s in subjects])
        for k in range(len(codes)):
            for m in range(months):
                active = np.flatnonzero(starts <= m)
                hit = active[nrng.random(len(active)) < p]
                if not len(hit):
                    continue
                lo, hi = month_start[m], month_end[m]
                ww = w[lo:hi] / w[lo:hi].sum()
                d = lo + nrng.choice(hi - lo, size=len(hit), p=ww)
                out.append(np.stack([hit + offset, np.full(len(hit), k + (0 if offset == 0 else 100)), d], axis=1))
        return np.concatenate(out) if out else np.zeros((0, 3), dtype=int)

    awards = np.concatenate([draws(households, HOUSEHOLD_ITEMS, p_h, 0),
                             draws(people, RESIDENT_ITEMS, p_r, len(households))])
    awards = awards[np.lexsort((awards[:, 0], awards[:, 2]))]  # by day: ids run with time
    code_of = {k: c for k, c in enumerate(HOUSEHOLD_ITEMS)} | {100 + k: c for k, c in enumerate(RESIDENT_ITEMS)}
    subjects = households + people
    n_households = len(households)

    # Shops: every town's (the small demo's), their goods with the stock they have now.
    goods_by_town: dict[str, list[list]] = defaultdict(list)
    for g in (Goods.objects.filter(is_active=True, shop__region__level=2).order_by("id")
              .values_list("id", "shop_id", "shop__region_id", "shop__name", "name", "cost", "stock")):
        goods_by_town[g[2]].append(list(g))

    claim_id, order_id = _next_id(Claim), _next_id(Order)
    first_claim = claim_id
    tables = [(Claim, CLAIM_FIELDS), (ClaimVote, VOTE_FIELDS), (ClaimEvent, EVENT_FIELDS), (Order, ORDER_FIELDS),
              (LedgerEntry, ENTRY_FIELDS), (StockMovement, MOVE_FIELDS)]

    def produce():
        """The claims, votes, events, orders, entries and stock movements, 50,000 claims at a time
        (prepared for the database), then the balances, the goods' stock changes and the counts.
        Pure after the reads above: it may run in a second process (pipeline.py)."""
        nonlocal claim_id, order_id
        claims, votes, events, entries, orders, moves = [], [], [], [], [], []
        ready = [row_preparer(model, fields) for model, fields in tables]
        # earned, spendable (refunds of cancelled orders apart), spent, awards until the next visit to
        # the shop, refunds: an order is checked against the points it finds without later refunds, so
        # the spendable points are never negative at any moment of the timeline.
        state = [[0, 0, 0, int(nrng.integers(*REDEEM_EVERY)), 0] for _ in subjects]
        recent = today - timedelta(days=10)
        counts = defaultdict(int)
        text = {c: f"{items[c].name}" for c in code_of.values()}

        def flush():
            out = [[prep(r) for r in rows] for prep, rows in
                   zip(ready, (claims, votes, events, orders, entries, moves), strict=True)]
            n = len(claims)
            for rows in (claims, votes, events, orders, entries, moves):
                rows.clear()
            return {"rows": out, "claims": n}

        day0 = first
        for si, ik, d in awards.tolist():
            s = subjects[si]
            is_household = si < n_households
            region = s[0]
            village = region[:12]
            sid = s[5] if not is_household else s[4]
            item = items[code_of[ik]]
            occurred = day0 + timedelta(days=d)
            worker = staff.workers.get(region) or staff.admins.get(village)
            cadres = staff.cadres.get(village) or []
            created = timezone.make_aware(datetime.combine(occurred, time(rng.randint(8, 18), rng.randint(0, 59))))
            if created >= now or worker is None:
                continue
            cid = claim_id
            claim_id += 1
            channel = rng.choice(CHANNELS)
            source = ClaimSource.GRID_WORKER.value if is_household else rng.choice(
                [ClaimSource.GRID_WORKER.value, ClaimSource.SELF.value, ClaimSource.NEIGHBOUR.value])
            pts = item.points_min if item.is_fixed else rng.randint(item.points_min, item.points_max)
            roll = rng.random()
            # a claim entered in the last few hours is still waiting for its cadre
            status = (ClaimStatus.PENDING if (occurred > recent and roll < 0.5) or not cadres
                      or created > now - timedelta(hours=4)
                      else ClaimStatus.REJECTED if roll > 0.98 else ClaimStatus.POSTED).value
            events.append((cid, ClaimAction.SUBMIT.value, "", ClaimStatus.PENDING.value, worker,
                           f"{ClaimSource(source).label}·{ClaimChannel(channel).label}", created))
            decided, reason = None, ""
            if status != ClaimStatus.PENDING:
                voter = rng.choice(cadres)
                decided = min(created + timedelta(hours=rng.randint(3, 40)), now - timedelta(minutes=1))
                if status == ClaimStatus.REJECTED:
                    reason = rng.choice(demo_points.REJECT_REASONS)
                    votes.append((cid, voter, Vote.REJECT.value, reason, decided))
                    events.append((cid, ClaimAction.REFUSE.value, ClaimStatus.PENDING.value, status, voter, reason,
                                   decided))
                else:
                    votes.append((cid, voter, Vote.APPROVE.value, "", decided))
                    events.append((cid, ClaimAction.APPROVE.value, ClaimStatus.PENDING.value, ClaimStatus.PENDING.value,
                                   voter, "同意（1/1）", decided))
                    events.append((cid, ClaimAction.POST.value, ClaimStatus.PENDING.value, status, voter,
                                   f"+{pts} 分入账", decided))
                    st = state[si]
                    st[0] += pts
                    st[1] += pts
                    entries.append((region, sid, EntryKind.AWARD.value, pts, pts, item.pk, cid, None, item.name,
                                    occurred, voter, decided, f"claim:{cid}"))
                    counts["awards"] += 1
                    if not is_household:
                        hi = s[4]
                        h = households[hi]
                        state[hi][0] += pts
                        counts["entries"] += 1
                        entries.append((h[0], h[4], EntryKind.ROLLUP.value, 0, pts, None, cid, None,
                                        f"{s[1]}：{item.name}", occurred, voter, decided, f"claim:{cid}:rollup"))
                    st[3] -= 1
                    if st[3] <= 0:
                        st[3] = int(nrng.integers(*REDEEM_EVERY))
                        # after every award processed so far is posted (they were decided within 3 days)
                        placed = max(decided, created + timedelta(days=3)) + timedelta(days=rng.randint(0, 20),
                                                                                       hours=rng.randint(0, 6))
                        stock = goods_by_town.get(region[:9], [])
                        affordable = [g for g in stock if g[5] <= st[1]]
                        if placed < now - timedelta(hours=1) and affordable:
                            g = rng.choice(affordable)
                            oid = order_id
                            order_id += 1
                            _order(rng, oid, g, s, sid, region, worker, placed, now, st, orders, entries, moves, counts)
            claims.append((cid, region, sid, item.pk, pts, occurred, f"{s[1]}：{text[item.code]}。", item.name, channel,
                           source, "", "", "", status, False, 1, worker, created, decided, reason))
            if len(claims) >= 50_000:
                yield flush()
        yield flush()
        # Balances of the new accounts; the goods' stock follows their movements.
        balances = [((s[5] if i >= n_households else s[4]), st[0], st[2] - st[4], st[1] + st[4], now)
                    for i, (s, st) in enumerate(zip(subjects, state, strict=True))]
        stock = {g[0]: g[7] for goods in goods_by_town.values() for g in goods if g[7:]}
        yield {"balances": balances, "stock": stock, "counts": dict(counts), "claim_id": claim_id}

    final = {}
    for batch in batches(produce):
        if "rows" in batch:
            for (model, fields), rows in zip(tables, batch["rows"], strict=True):
                insert_rows(model, fields, rows, prepared=fields)
            if bar:
                bar.add(batch["claims"])
        else:
            final = batch
    insert_rows(Balance, ["subject", "earned", "spent", "spendable", "updated_at"], final["balances"])
    for gid, delta in final["stock"].items():
        Goods.objects.filter(pk=gid).update(stock=F("stock") + delta)
    counts, claim_id = final["counts"], final["claim_id"]
    demo_points._reset_sequences([Subject, Claim, Order])
    return {"points_subjects_bulk": len(subjects), "points_claims_bulk": claim_id - first_claim,
            "points_entries_bulk": counts["entries"] + counts["awards"], "points_awards_bulk": counts["awards"],
            "points_orders_bulk": counts["orders"]}


def _order(rng, oid, g, s, sid, region, clerk, placed, now, st, orders, entries, moves, counts) -> None:
    """One exchange at the town's shop: points and stock move together (and back when cancelled)."""
    gid, shop_id, _town, shop_name, name, cost, stock = g[:7]
    delta = g[7] if len(g) > 7 else 0
    if stock + delta < 1:  # the shop restocks before the shelf is empty
        moves.append((gid, RESTOCK, StockReason.RESTOCK.value, None, clerk, "补货", placed - timedelta(hours=2)))
        delta += RESTOCK
    cancelled = rng.random() < 0.03
    status = (OrderStatus.CANCELLED if cancelled else OrderStatus.PLACED if (now - placed).days < 7
              else OrderStatus.FULFILLED).value
    day = timezone.localdate(placed)
    fulfilled = placed + timedelta(minutes=rng.randint(2, 30)) if status == OrderStatus.FULFILLED else None
    st[1] -= cost
    st[2] += cost
    delta -= 1
    entries.append((region, sid, EntryKind.REDEMPTION.value, -cost, 0, None, None, oid, f"兑换 {name}×1（{shop_name}）",
                    day, clerk, placed, f"order:{oid}"))
    moves.append((gid, -1, StockReason.ORDER.value, oid, clerk, "", placed))
    counts["orders"] += 1
    counts["entries"] += 1
    cancelled_at, reason = None, ""
    if cancelled:
        reason = "村民改换其他物品"
        cancelled_at = min(placed + timedelta(hours=rng.randint(1, 48)), now - timedelta(minutes=1))
        entries.append((region, sid, EntryKind.REDEMPTION_CANCEL.value, cost, 0, None, None, oid,
                        f"撤销兑换 {name}×1：{reason}", day, clerk, cancelled_at, f"order:{oid}:cancel"))
        moves.append((gid, 1, StockReason.CANCEL.value, oid, clerk, reason, cancelled_at))
        st[4] += cost  # the refund: counted in the balance, not for the orders planned after this one
        delta += 1
        counts["entries"] += 1
    if len(g) > 7:
        g[7] = delta
    else:
        g.append(delta)
    orders.append((oid, region, sid, gid, shop_id, 1, cost, cost, status, clerk, placed, fulfilled,
                   clerk if fulfilled else None, cancelled_at, clerk if cancelled_at else None, reason))

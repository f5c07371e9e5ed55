"""Five years of 政务网上办 applications at city scale (about 40,000), written in bulk.

The same steps and fields as the egov services write (services/applications.py), planned in Python
and inserted with COPY / executemany: create (the agent: the grid worker or the village's grid
administrator), the materials on file, 村级受理 (the clock: due = accepted + promised working days),
镇审核 where the item needs it, 部门核实, 批准 or 不予批准 (with a reason), the payments (one-off, or
monthly from the next month, paid up to today) and 办结. Old applications are finished; recent ones
stand wherever their age leaves them, some returned for a missing scan, some past their time limit.
One open application per resident and item (the table's constraint) holds by construction.
Notifications (the SMS outbox) are not generated: nothing reads old ones.
"""

import random
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import Max
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import User
from gridgov.egov.choices import Action, BenefitKind, Channel, Decision, PaymentStatus, State
from gridgov.egov.models import Application, ApplicationEvent, ApplicationMaterial, Payment, ServiceItem
from gridgov.egov.services.applications import MONTHLY_PAY_DAY, PAYMENT_DAYS
from gridgov.people.models import CareTag, Resident

from .. import egov as demo_egov
from ..people import insert_rows
from . import season
from .workdays import WorkDays

APPLICATIONS = 40_000
# Items and their share: the small demo's ten, the everyday certificates and enrolments first.
WEIGHTS = demo_egov.WEIGHTS
REFUSE_REASON = "经核实，家庭收入高于政策标准，不符合条件"
RETURN_REASON = "复印件不清晰，请重新扫描上传"

APP_FIELDS = ["id", "number", "item", "department_code", "applicant", "region", "agent", "channel",
              "found_by_match", "state", "answers", "payee_name", "payee_account", "amount_fen", "created_at",
              "accepted_by", "accepted_at", "accepted_on", "promised_days", "paused_days", "due_on", "returned_on",
              "returned_from", "return_reason", "missing_materials", "decision", "decision_reason", "decided_at",
              "completed_at", "completed_on", "updated_at"]
EVENT_FIELDS = ["application", "action", "from_state", "to_state", "actor", "actor_name", "actor_role", "note",
                "data", "at"]
MATERIAL_FIELDS = ["application", "material_code", "file", "original_name", "content_type", "size", "sha256",
                   "uploaded_by", "uploaded_at"]
PAYMENT_FIELDS = ["application", "region", "period", "amount_fen", "due_on", "status", "paid_on", "reference",
                  "paid_by", "created_at"]


def _pools(today: date) -> dict[str, np.ndarray]:
    """Resident ids suited to each item (by age, gender, care tags), read without decrypting anything."""
    rows = list(Resident.objects.filter(state="active").order_by("id").values_list("id", "gender", "birth_date"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    female = np.array([r[1] == "female" for r in rows])
    age = np.array([(today - r[2]).days // 365 if r[2] else 40 for r in rows])
    tags: dict[str, set[int]] = {}
    for rid, code in (CareTag.objects.filter(ended_on__isnull=True, tag_type__code__in=[
            "serious_illness", "dibao", "dibao_marginal", "disabled"]).values_list("resident_id", "tag_type__code")):
        tags.setdefault(code, set()).add(rid)

    def tagged(*codes):
        wanted = set().union(*(tags.get(c, set()) for c in codes))
        return np.fromiter(wanted, dtype=np.int64) if wanted else np.array([], dtype=np.int64)

    return {"GG001": ids[age >= 18], "SB017": ids, "GG009": ids[female & (age >= 22) & (age <= 40)],
            "SB007": ids[age >= 80], "SB001": tagged("serious_illness", "dibao", "dibao_marginal"),
            "SB002": tagged("dibao_marginal"), "XZ001": ids[(age >= 30) & (age <= 65)], "GG013": ids[age >= 65],
            "SB013": ids[(age >= 18) & (age <= 59)], "SB005": tagged("disabled")}


def _staff() -> dict[str, tuple[int, str]]:
    """username → (id, full name) of the accounts that handle applications."""
    wanted = ("gw", "ga", "to")
    rows = User.objects.filter(is_demo=True).values_list("id", "username", "full_name")
    return {u: (pk, name) for pk, u, name in rows if u.startswith(wanted) or u.endswith(("-staff", "-head"))}


def seed_city_egov(*, seed: int, total: int, now: datetime, bar=None) -> dict[str, int]:
    """Writes about `total` applications over the five years up to `now`; returns the counts."""
    rng = random.Random(seed * 11 + 3)
    nrng = np.random.default_rng([seed, 11])
    today = timezone.localdate(now)
    first, days = season.period(today)
    work = WorkDays(first - timedelta(days=10), today + timedelta(days=400))
    items = {i.code: i for i in ServiceItem.objects.filter(code__in=WEIGHTS)}
    pools = _pools(today)
    codes = [c for c in WEIGHTS if c in items and len(pools.get(c, ()))]
    if not codes or total <= 0:
        return {"egov_applications_bulk": 0}
    region_of, name_of = {}, {}
    for rid, region, name in Resident.objects.values_list("id", "region_id", "name").iterator(chunk_size=20_000):
        region_of[rid], name_of[rid] = region, name
    staff = _staff()
    p = np.array([WEIGHTS[c] for c in codes], dtype=float)
    pick = nrng.choice(len(codes), size=total, p=p / p.sum())
    day = np.sort(season.sample_days(nrng, season.weights(first, days, "applications"), total))
    next_id = (Application.objects.aggregate(m=Max("pk"))["m"] or 0) + 1

    apps, events, materials, payments = [], [], [], []
    used: set[tuple[str, int]] = set(Application.objects.values_list("item__code", "applicant_id"))
    states: dict[str, int] = {}

    def user(username: str) -> tuple[int, str]:
        return staff.get(username) or staff[f"ga{username[2:14]}"]

    def at(d: date, lo: int = 8, hi: int = 17) -> datetime:
        return timezone.make_aware(datetime.combine(d, time(rng.randint(lo, hi - 1), rng.randint(0, 59))))

    for n in range(total):
        code = codes[pick[n]]
        item = items[code]
        pool = pools[code]
        applicant = int(pool[nrng.integers(len(pool))])
        if (code, applicant) in used:
            continue
        used.add((code, applicant))
        grid = region_of[applicant]
        village, town = grid[:12], grid[:9]
        start = work.on_or_after(first + timedelta(days=int(day[n])))
        created = at(start, 8, 11)
        if created >= now:
            continue
        pk = next_id
        next_id += 1
        by_worker = rng.random() < 0.35
        agent_id, agent_name = user(f"gw{grid}") if by_worker else user(f"ga{village}")
        admin_id, admin_name = user(f"ga{village}")
        town_id, town_name = user(f"to{town}-{rng.randint(1, 2)}")
        dept = f"GAJ-{town}" if item.department_code == "GAJ" else item.department_code
        staff_id, staff_name = user(f"{dept.lower()}-staff")
        head_id, head_name = user(f"{dept.lower()}-head")
        account = demo_egov.ACCOUNT.format(rng.randrange(10**9, 10**10)) if item.pays_money else ""
        answers = demo_egov._answers(code, None, rng)
        row = {"state": State.PENDING, "accepted_by": None, "accepted_at": None, "accepted_on": None, "due_on": None,
               "returned_on": None, "returned_from": "", "return_reason": "", "missing": [], "decision": "",
               "decision_reason": "", "decided_at": None, "completed_at": None, "completed_on": None,
               "amount": None, "paused": 0, "updated": created}

        def event(action, to_state, actor, who, role, when, note="", data=None, pk=pk, row=row):
            events.append((pk, action, row["state"], to_state, actor, who, role, note, data or {}, when))
            row["state"], row["updated"] = to_state, when

        event(Action.CREATE, State.PENDING, agent_id, agent_name, Role.GRID_WORKER if by_worker else Role.GRID_ADMIN,
              created, data={"channel": Channel.GRID_WORKER if by_worker else Channel.VILLAGE, "found_by_match": False})
        row["state"] = State.PENDING
        for m in item.required_materials:
            materials.append((pk, m["code"], demo_egov.SAMPLE_NAME, f"{m['code']}.pdf", "application/pdf",
                              len(demo_egov.SAMPLE_PDF), "demo", agent_id, created + timedelta(minutes=5)))
        # Working days each step waits: the whole within the promise, or past it for a stalled one (12 %).
        steps = ["accept", *(["town_pass"] if item.needs_town_review else []), "verify", "decide", "pay", "complete"]
        spend = rng.randint(0, item.promised_days) if rng.random() > 0.12 else \
            int(item.promised_days * rng.uniform(1.3, 2.5)) + 1
        gaps = [0] * len(steps)
        for _ in range(spend):
            gaps[rng.randrange(1, len(steps))] += 1
        gaps[0] = 0 if rng.random() < 0.7 else 1
        returned = rng.random() < 0.15
        withdraw = rng.random() < 0.02
        paid_once = False
        cursor = created + timedelta(minutes=10)

        def advance(gap: int) -> datetime | None:
            nonlocal cursor
            if gap:
                cursor = max(cursor + timedelta(minutes=5), at(work.add(timezone.localdate(cursor), gap), 9, 17))
            else:
                cursor = cursor + timedelta(minutes=rng.randint(20, 90))
            return cursor if cursor < now else None

        for step, gap in zip(steps, gaps, strict=True):
            when = advance(gap)
            if when is None:
                break
            if withdraw and step == "verify":
                event(Action.WITHDRAW, State.WITHDRAWN, agent_id, agent_name, Role.GRID_ADMIN, when,
                      note="申请人自愿撤回申请")
                break
            if returned and step in ("town_pass", "verify"):
                returned = False
                missing = rng.choice([m["code"] for m in item.materials])
                actor = (town_id, town_name, Role.TOWN_OPERATOR) if step == "town_pass" else \
                    (staff_id, staff_name, Role.DEPT_STAFF)
                row.update(returned_on=timezone.localdate(when), returned_from=row["state"],
                           return_reason=RETURN_REASON, missing=[missing])
                event(Action.RETURN, State.RETURNED, *actor, when, note=RETURN_REASON,
                      data={"missing_materials": [missing]})
                back = advance(rng.randint(1, 4))
                if back is None:
                    break
                paused = work.between(row["returned_on"], timezone.localdate(back))
                row["paused"] += paused
                row["due_on"] = work.add(row["accepted_on"], item.promised_days + row["paused"])
                materials.append((pk, missing, demo_egov.SAMPLE_NAME, f"{missing}.pdf", "application/pdf",
                                  len(demo_egov.SAMPLE_PDF), "demo", agent_id, back))
                event(Action.RESUBMIT, row["returned_from"], agent_id, agent_name, Role.GRID_ADMIN,
                      back + timedelta(minutes=5), data={"paused_days": paused, "due_on": row["due_on"].isoformat()})
                when = advance(0)
                if when is None:
                    break
            if step == "accept":
                d = timezone.localdate(when)
                row.update(accepted_by=admin_id, accepted_at=when, accepted_on=d,
                           due_on=work.add(d, item.promised_days))
                event(Action.ACCEPT, State.TOWN_REVIEW if item.needs_town_review else State.DEPT_VERIFY, admin_id,
                      admin_name, Role.GRID_ADMIN, when)
            elif step == "town_pass":
                event(Action.TOWN_PASS, State.DEPT_VERIFY, town_id, town_name, Role.TOWN_OPERATOR, when, note="同意")
            elif step == "verify":
                event(Action.VERIFY, State.DEPT_DECIDE, staff_id, staff_name, Role.DEPT_STAFF, when,
                      note="经核实，情况属实")
            elif step == "decide":
                if rng.random() < 0.1:
                    row.update(decision=Decision.REFUSED, decision_reason=REFUSE_REASON, decided_at=when)
                    event(Action.REFUSE, State.REFUSED, head_id, head_name, Role.DEPT_HEAD, when, note=REFUSE_REASON)
                    when = advance(rng.randint(0, 1))
                    if when is not None:
                        row.update(completed_at=when, completed_on=timezone.localdate(when))
                        event(Action.COMPLETE, State.COMPLETED, staff_id, staff_name, Role.DEPT_STAFF, when,
                              data={"on_time": row["completed_on"] <= row["due_on"],
                                    "due_on": row["due_on"].isoformat()})
                    break
                amount = item.standard_amount_fen
                if item.pays_money and not amount:
                    amount = rng.choice([80000, 100000, 150000, 200000, 300000]) if code == "SB001" else \
                        rng.choice([38000, 42000, 46000])
                row.update(decision=Decision.APPROVED, decision_reason="同意", decided_at=when, amount=amount)
                schedule = _schedule(item, amount, timezone.localdate(when), work) if item.pays_money else []
                event(Action.APPROVE, State.APPROVED, head_id, head_name, Role.DEPT_HEAD, when, note="同意",
                      data={"amount_fen": amount, "payments": len(schedule)} if item.pays_money else {})
                for period, due in schedule:
                    paid = due <= today and (period != "once" or due <= timezone.localdate(now - timedelta(days=1)))
                    payments.append((pk, grid, period, amount, due, PaymentStatus.PAID if paid else
                                     PaymentStatus.SCHEDULED, due if paid else None,
                                     f"CITY{pk:07d}{period.replace('-', '')}" if paid else "",
                                     staff_id if paid else None, when))
                    if paid and period == "once":
                        paid_once = True
                        event(Action.PAY, State.APPROVED, staff_id, staff_name, Role.DEPT_STAFF,
                              max(when + timedelta(minutes=5), at(due, 9, 17)), data={"period": period,
                                                                                     "amount_fen": amount})
                if item.benefit_kind == BenefitKind.ONE_OFF and not paid_once:
                    break  # the money is not out yet: the application stays approved
            elif step == "complete":
                if item.benefit_kind == BenefitKind.ONE_OFF:
                    when = max(when, row["updated"] + timedelta(minutes=10))
                    if when >= now:
                        break
                row.update(completed_at=when, completed_on=timezone.localdate(when))
                event(Action.COMPLETE, State.COMPLETED, staff_id, staff_name, Role.DEPT_STAFF, when,
                      data={"on_time": row["completed_on"] <= row["due_on"], "due_on": row["due_on"].isoformat()})
            elif step == "pay":
                continue
        states[row["state"]] = states.get(row["state"], 0) + 1
        apps.append((pk, f"ZW{timezone.localdate(created):%Y%m%d}{pk:06d}", item.pk, item.department_code, applicant,
                     grid, agent_id, Channel.GRID_WORKER if by_worker else Channel.VILLAGE, False, row["state"],
                     answers, name_of.get(applicant, "") if account else "", account, row["amount"], created,
                     row["accepted_by"], row["accepted_at"], row["accepted_on"], item.promised_days, row["paused"],
                     row["due_on"], row["returned_on"] if row["state"] == State.RETURNED else None,
                     row["returned_from"] if row["state"] == State.RETURNED else "",
                     row["return_reason"] if row["state"] == State.RETURNED else "",
                     row["missing"] if row["state"] == State.RETURNED else [], row["decision"], row["decision_reason"],
                     row["decided_at"], row["completed_at"], row["completed_on"], row["updated"]))
        if bar and len(apps) % 1000 == 0:
            bar.add(1000)
    insert_rows(Application, APP_FIELDS, apps)
    insert_rows(ApplicationEvent, EVENT_FIELDS, events)
    insert_rows(ApplicationMaterial, MATERIAL_FIELDS, materials)
    insert_rows(Payment, PAYMENT_FIELDS, payments)
    if bar:
        bar.add(len(apps) % 1000)
    demo_egov._sample_file()
    from .. import points as demo_points

    demo_points._reset_sequences([Application])  # ids were given here: PostgreSQL's sequence moves past them
    return {"egov_applications_bulk": len(apps), "egov_events": len(events), "egov_payments": len(payments),
            "egov_materials": len(materials), **{f"egov_{k}": v for k, v in sorted(states.items())}}


def _schedule(item: ServiceItem, amount: int, decided_on: date, work: WorkDays) -> list[tuple[str, date]]:
    """The services' payment schedule (applications._schedule): once, or a month each from the next."""
    if item.benefit_kind == BenefitKind.ONE_OFF:
        return [("once", work.add(decided_on, PAYMENT_DAYS))]
    out, year, month = [], decided_on.year, decided_on.month
    for _ in range(item.schedule_months):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        out.append((f"{year:04d}-{month:02d}", date(year, month, MONTHLY_PAY_DAY)))
    return out

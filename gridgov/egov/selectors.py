"""Reads of 政务网上办. Every application read starts from `Application.objects.visible_to(user)`.

Lists load what they show in a fixed number of queries (item, applicant, grid and agent joined;
department names in one query), whatever the page size; tests assert it.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone

from gridgov.accounts.models import Department
from gridgov.accounts.policy import can, get_scope, require
from gridgov.core.errors import NotFound, ValidationFailed
from gridgov.people.choices import ResidentState
from gridgov.people.presenters import tag_levels
from gridgov.regions import codes as region_codes
from gridgov.regions.models import Region

from . import access
from .choices import RUNNING_STATES, Category, Decision, PaymentStatus, State
from .models import (
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    EligibilityMatch,
    EligibilityScan,
    Notification,
    Payment,
    ServiceItem,
)

_REGION = re.compile(r"^[0-9]{1,15}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
APPLICANT_DEFER = ("applicant__id_number", "applicant__phone", "applicant__health_note", "region__geom_wkb",
                   "payee_account")
LEVEL_CHILD = {6: 9, 9: 12, 12: 15, 15: 15}


def _bad(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, extra={"errors": {field_name: message}}, code="invalid_filter")


def department_names() -> dict[str, str]:
    return dict(Department.objects.values_list("code", "name"))


# --- catalogue ---------------------------------------------------------------------------------------------

def service_item_list(*, user=None, category: str | None = None, q: str | None = None,
                      department: str | None = None, pays_money: bool | None = None,
                      include_inactive: bool = False) -> QuerySet:
    """The catalogue, in its order. Public information: any signed-in user may read it; inactive
    items only for those who manage the catalogue."""
    qs = ServiceItem.objects.all()
    if not (include_inactive and user is not None and can(user, "egov.catalogue.manage")):
        qs = qs.filter(is_active=True)
    if category:
        if category not in Category.values:
            raise _bad("category", "类别无效，可选：" + "、".join(f"{c}（{n}）" for c, n in Category.choices))
        qs = qs.filter(category=category)
    if q:
        text = q.strip()
        qs = qs.filter(Q(name__contains=text) | Q(summary__contains=text) | Q(code__iexact=text))
    if department:
        qs = qs.filter(department_code=department)
    if pays_money is not None:
        qs = qs.filter(pays_money=pays_money)
    return qs.order_by("sort_order", "code")


def service_item_get(*, code: str, user=None) -> ServiceItem:
    item = ServiceItem.objects.filter(code=str(code or "")[:16]).first()
    if item is None or (not item.is_active and not (user is not None and can(user, "egov.catalogue.manage"))):
        raise NotFound("服务事项不存在")
    return item


def category_counts() -> dict[str, int]:
    return dict(ServiceItem.objects.filter(is_active=True).values_list("category").annotate(n=Count("id"))
                .values_list("category", "n"))


# --- applications ------------------------------------------------------------------------------------------

def _month_bounds(month: str) -> tuple[datetime, datetime]:
    match = _MONTH.match(month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise _bad("month", "月份格式应为 YYYY-MM，如 2026-03")
    year, mon = int(match.group(1)), int(match.group(2))
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tz), datetime.combine(end, time.min, tz)


def application_filter(qs: QuerySet, *, state: str | None = None, item: str | None = None,
                       category: str | None = None, region: str | None = None, department: str | None = None,
                       q: str | None = None, month: str | None = None, overdue: bool | None = None,
                       applicant: int | None = None, agent: int | None = None, found_by_match: bool | None = None,
                       number: str | None = None, today: date | None = None) -> QuerySet:
    """The desk's filters over an already scoped queryset. `state` may list several: "dept_verify,dept_decide"."""
    if state:
        states = [s.strip() for s in str(state).split(",") if s.strip()]
        bad = [s for s in states if s not in State.values]
        if bad:
            raise _bad("state", "状态无效，可选：" + "、".join(f"{c}（{n}）" for c, n in State.choices))
        qs = qs.filter(state__in=states)
    if item:
        qs = qs.filter(item__code=item)
    if category:
        if category not in Category.values:
            raise _bad("category", "类别无效")
        qs = qs.filter(item__category=category)
    if region:
        if not _REGION.match(region):
            raise _bad("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    if department:
        qs = qs.filter(department_code=department)
    if q:
        text = q.strip()
        qs = qs.filter(Q(applicant__name__contains=text) | Q(number=text.upper()))
    if number:
        qs = qs.filter(number=number.strip().upper())
    if month:
        start, end = _month_bounds(month)
        qs = qs.filter(created_at__gte=start, created_at__lt=end)
    if overdue:
        qs = qs.filter(state__in=RUNNING_STATES, due_on__lt=today or timezone.localdate())
    if applicant:
        qs = qs.filter(applicant_id=applicant)
    if agent:
        qs = qs.filter(agent_id=agent)
    if found_by_match is not None:
        qs = qs.filter(found_by_match=found_by_match)
    return qs


def application_list(*, user, **filters) -> QuerySet:
    """Applications the user may see, newest first, with item, applicant, grid and agent loaded."""
    require(user, "egov.view")
    qs = application_filter(Application.objects.visible_to(user), **filters)
    return (qs.select_related("item", "applicant", "region", "agent").defer(*APPLICANT_DEFER)
            .order_by("-created_at", "-id"))


def application_state_counts(*, user, **filters) -> dict[str, int]:
    """{state: count} under the same filters except the state itself (the desk's tabs), one query."""
    require(user, "egov.view")
    filters.pop("state", None)
    qs = application_filter(Application.objects.visible_to(user), **filters)
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {s: counts.get(s, 0) for s in State.values}


@dataclass
class ApplicationDetail:
    application: Application
    events: list
    materials: list
    payments: list
    department_name: str


def application_get(*, user, application_id) -> ApplicationDetail:
    """One application with its timeline, materials and payments (404 outside the user's scope)."""
    app = access.access_application(user, application_id)
    events = list(ApplicationEvent.objects.filter(application=app).order_by("at", "id"))
    materials = list(ApplicationMaterial.objects.filter(application=app).select_related("uploaded_by")
                     .order_by("uploaded_at", "id"))
    payments = list(Payment.objects.filter(application=app).order_by("due_on", "id"))
    name = Department.objects.filter(code=app.department_code).values_list("name", flat=True).first()
    return ApplicationDetail(app, events, materials, payments, name or app.department_code)


def material_open(*, user, application_id, material_id):
    """(open file, content type, download name) of a material, for a user who may see the application."""
    material = access.access_material(user, application_id, material_id)
    if not material.file:  # erased with its owner's personal data (privacy.sweeps): the row stays
        raise NotFound("材料文件已按个人信息保存期限删除")
    try:
        handle = material.file.open("rb")
    except FileNotFoundError:
        raise NotFound("材料文件不存在") from None
    ext = material.file.name.rsplit(".", 1)[-1]
    name = f"{material.application.number}-{material.material_code}-{material.pk}.{ext}"
    return handle, material.content_type, name


def notification_list(*, user, unread: bool | None = None) -> QuerySet:
    """The user's own notifications (as agent of applications), newest first."""
    qs = Notification.objects.filter(recipient_user=user).select_related("application")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def payment_list(*, user, status: str | None = None, region: str | None = None, due_before: date | None = None):
    """Payments of the applications the user may see (the department's disbursement queue)."""
    require(user, "egov.view")
    qs = Payment.objects.filter(access.application_scope_q(user, "application__"))
    if status:
        if status not in PaymentStatus.values:
            raise _bad("status", "状态无效")
        qs = qs.filter(status=status)
    if region:
        if not _REGION.match(region):
            raise _bad("region", "区划代码只能是 1-15 位数字")
        qs = qs.filter(region__code__startswith=region)
    if due_before:
        qs = qs.filter(due_on__lte=due_before)
    return qs.select_related("application__item", "application__applicant").defer(
        "application__applicant__id_number", "application__applicant__phone",
        "application__applicant__health_note", "application__payee_account").order_by("due_on", "id")


# --- statistics --------------------------------------------------------------------------------------------

@dataclass
class Stats:
    region: Region | None
    total: int = 0
    by_state: list[dict] = field(default_factory=list)
    by_category: list[dict] = field(default_factory=list)
    by_item: list[dict] = field(default_factory=list)
    by_level: list[dict] = field(default_factory=list)
    by_month: list[dict] = field(default_factory=list)
    completed: int = 0
    on_time: int = 0
    overdue_open: int = 0
    paid_fen: int = 0
    paid_count: int = 0
    scheduled_fen: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.completed, 4) if self.completed else None


def default_region(user) -> str:
    roots = get_scope(user).root_codes
    return roots[0] if len(roots) == 1 else (region_codes.ancestor_codes(roots[0])[0] if roots else "420881")


def application_stats(*, user, region: str | None = None, since: date | None = None, until: date | None = None,
                      today: date | None = None) -> Stats:
    """Counts by state, category, item, level (the next level below `region`) and month; on-time
    rate of closed applications; money paid and still scheduled. Each is one grouped query over the
    user's scoped applications; `since`/`until` bound the day the application was started."""
    require(user, "egov.view")
    today = today or timezone.localdate()
    region = region or default_region(user)
    if not _REGION.match(region) or len(region) not in LEVEL_CHILD:
        raise _bad("region", "区划代码应为 6、9、12 或 15 位数字")
    tz = timezone.get_current_timezone()
    qs = Application.objects.visible_to(user).filter(region__code__startswith=region)
    if since:
        qs = qs.filter(created_at__gte=datetime.combine(since, time.min, tz))
    if until:
        qs = qs.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tz))
    qs = qs.order_by()
    node = Region.objects.filter(code=region).only("code", "name", "level").first()
    stats = Stats(region=node)
    state_counts = dict(qs.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    stats.total = sum(state_counts.values())
    stats.by_state = [{"state": s, "name": str(n), "count": state_counts.get(s, 0)} for s, n in State.choices]
    cats = dict(qs.values_list("item__category").annotate(n=Count("id")).values_list("item__category", "n"))
    stats.by_category = [{"category": c, "name": str(n), "count": cats.get(c, 0)} for c, n in Category.choices]
    stats.by_item = [
        {"code": row["item__code"], "name": row["item__name"], "count": row["n"],
         "completed": row["done"], "approved": row["approved"]}
        for row in qs.values("item__code", "item__name").annotate(
            n=Count("id"), done=Count("id", filter=Q(state=State.COMPLETED)),
            approved=Count("id", filter=Q(decision=Decision.APPROVED))).order_by("-n", "item__code")
    ]
    length = LEVEL_CHILD[len(region)]
    levels = list(qs.annotate(unit=Substr(F("region_id"), 1, length)).values("unit").annotate(
        n=Count("id"), done=Count("id", filter=Q(state=State.COMPLETED)),
        overdue=Count("id", filter=Q(state__in=RUNNING_STATES, due_on__lt=today))).order_by("unit"))
    names = dict(Region.objects.filter(code__in=[r["unit"] for r in levels]).values_list("code", "name"))
    stats.by_level = [{"code": r["unit"], "name": names.get(r["unit"], r["unit"]), "count": r["n"],
                       "completed": r["done"], "overdue": r["overdue"]} for r in levels]
    months = qs.annotate(m=TruncMonth("created_at", tzinfo=tz)).values("m").annotate(
        n=Count("id"), done=Count("id", filter=Q(state=State.COMPLETED))).order_by("m")
    stats.by_month = [{"month": timezone.localtime(r["m"]).strftime("%Y-%m") if isinstance(r["m"], datetime)
                       else r["m"].strftime("%Y-%m"), "count": r["n"], "completed": r["done"]} for r in months]
    closed = qs.filter(state=State.COMPLETED, due_on__isnull=False).aggregate(
        n=Count("id"), ok=Count("id", filter=Q(completed_on__lte=F("due_on"))))
    stats.completed, stats.on_time = closed["n"], closed["ok"]
    stats.overdue_open = qs.filter(state__in=RUNNING_STATES, due_on__lt=today).count()
    money = Payment.objects.filter(application__in=qs.values("pk")).order_by().aggregate(
        paid=Sum("amount_fen", filter=Q(status=PaymentStatus.PAID)),
        paid_n=Count("id", filter=Q(status=PaymentStatus.PAID)),
        scheduled=Sum("amount_fen", filter=Q(status=PaymentStatus.SCHEDULED)))
    stats.paid_fen, stats.paid_count = money["paid"] or 0, money["paid_n"]
    stats.scheduled_fen = money["scheduled"] or 0
    return stats


# --- 政策找人 -------------------------------------------------------------------------------------------------

def match_region(user, code: str | None) -> Region:
    """The region a 政策找人 list is for: the one asked (in scope), or the user's own grid or node."""
    require(user, "egov.match.view")
    if not code:
        from gridgov.visits.access import worker_grid_codes

        own = worker_grid_codes(user)
        roots = get_scope(user).root_codes
        code = own[0] if len(own) == 1 else (roots[0] if len(roots) == 1 else None)
        if code is None:
            raise ValidationFailed("请指定网格或区域（region 参数）", code="region_required")
    if not _REGION.match(code) or len(code) not in LEVEL_CHILD or not get_scope(user).covers(code):
        raise NotFound()
    region = Region.objects.filter(code=code).only("code", "name", "level").first()
    if region is None:
        raise NotFound()
    return region


def match_list(*, user, region: str | None = None, item: str | None = None) -> QuerySet:
    """Residents under the region who look eligible for an item and have neither applied for it nor
    been refused (any application that was not withdrawn counts), newest match first.

    Least sight: matches of a rule that reads a tag the user may not see (以奖代补 reads a mental-health
    tag) are left out, so the list cannot betray the tag."""
    node = match_region(user, region)
    applied = Application.objects.filter(item_id=OuterRef("item_id"), applicant_id=OuterRef("resident_id")).exclude(
        state=State.WITHDRAWN)
    qs = (EligibilityMatch.objects.filter(region__code__startswith=node.code, item__is_active=True,
                                          item__rule_sensitivity__in=tag_levels(user),
                                          resident__state=ResidentState.ACTIVE,
                                          resident__region_id=F("region_id"))
          .exclude(Exists(applied)))
    if item:
        qs = qs.filter(item__code=item)
    return (qs.select_related("item", "resident", "region")
            .defer("resident__id_number", "resident__phone", "resident__health_note", "region__geom_wkb")
            .order_by("region_id", "item__sort_order", "resident__name", "id"))


def last_scan(region_code: str) -> EligibilityScan | None:
    return (EligibilityScan.objects.filter(region__code__startswith=region_code).order_by("-started_at", "-id")
            .first())

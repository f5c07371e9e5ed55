"""Reads of notices and reports, each starting from what the user may see."""

from django.db.models import Count, Q
from django.db.models.functions import Substr

from gridgov.accounts.policy import can, get_scope
from gridgov.core.errors import NotFound
from gridgov.regions.models import Region

from .access import sees_whole, supervision_q
from .choices import NoticeStatus
from .models import Notice, Receipt, Report

# The length of a child's code below a node of each level: county 6 → town 9 → village 12 → grid 15.
CHILD_LEN = {1: 9, 2: 12, 3: 15}


def inbox(user, *, unread: bool | None = None, unacked: bool | None = None, q: str = "",
          include_withdrawn: bool = False):
    """The user's own receipts, newest notice first, with the notice and its author joined (no N+1).

    `unread`: only (True) or never (False) unopened ones; `unacked`: only receipts still owing an
    acknowledgement (notice asks for one, not yet given); `q` searches title and text. Withdrawn
    notices leave the inbox unless asked for. Each row: receipt.read_at / acked_at / ack_comment and
    receipt.notice (title, sent_at, requires_ack, ack_deadline, status, author, author_unit).
    """
    if not getattr(user, "is_authenticated", False):
        return Receipt.objects.none()
    qs = Receipt.objects.filter(user=user).select_related("notice", "notice__author")
    if not include_withdrawn:
        qs = qs.filter(notice__status=NoticeStatus.SENT)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if unacked:
        qs = qs.filter(notice__requires_ack=True, acked_at__isnull=True)
    q = (q or "").strip()[:100]
    if q:
        qs = qs.filter(Q(notice__title__icontains=q) | Q(notice__body_text__icontains=q))
    return qs.order_by("-notice__sent_at", "-notice_id")


def inbox_counts(user) -> dict:
    qs = inbox(user)
    return qs.aggregate(total=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True)),
                        unacked=Count("id", filter=Q(notice__requires_ack=True, acked_at__isnull=True)))


def notice_list(user, *, mine: bool = False, q: str = "", status: str | None = None):
    """Notices the user authored or supervises (notices.stats over an overlapping area), with their
    receipt counts, for the 'sent' page and the statistics index."""
    if not getattr(user, "is_authenticated", False):
        return Notice.objects.none()
    base = Q(author=user) if mine else (Q(author=user) | supervision_q(user))
    qs = Notice.objects.filter(base).select_related("author", "target_region")
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()[:100]
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(body_text__icontains=q))
    return qs.order_by("-sent_at", "-id")


def stats_root(user, notice: Notice) -> str:
    """The node a viewer's statistics start from: the notice's target region if they see the whole
    notice or cover it, else the one node of their scope inside it."""
    target = notice.target_region_id
    scope = get_scope(user)
    if sees_whole(user, notice) or scope.covers(target):
        return target
    inside = [p for p in scope.region_prefixes if p.startswith(target)]
    if len(inside) == 1:
        return inside[0]
    if not inside:
        raise NotFound()
    return target  # several nodes inside: start at the target, rows outside scope are left out


def notice_stats(user, notice: Notice, node: str | None = None) -> dict:
    """Read and acknowledgement counts of one notice below one region node, per child region.

    Rows: one per child node (all children, zero rows included), one for recipients posted at the node
    itself (本级), and at the notice's own target region one for department posts. `totals` is the sum of
    the rows and equals a direct count of the receipts under the node, so drill-down figures always add up.
    Viewers other than the author and the city centre need notices.stats and see only nodes in their scope.
    """
    whole = sees_whole(user, notice)
    if not whole and not can(user, "notices.stats"):
        raise NotFound()
    root = stats_root(user, notice)
    node = node or root
    scope = get_scope(user)
    if not node.startswith(notice.target_region_id) or not (whole or scope.covers(node) or node == root):
        raise NotFound()
    region = Region.objects.filter(code=node).first()
    if region is None:
        raise NotFound()
    child_len = CHILD_LEN.get(region.level)
    receipts = Receipt.objects.filter(notice=notice, region_code__startswith=node)
    if not (whole or scope.covers(node)):
        # several scope nodes inside the target: only the parts the viewer covers
        part = Q(pk__in=[])
        for p in scope.region_prefixes:
            part |= Q(region_code__startswith=p)
        receipts = receipts.filter(part)
    late = Q(acked_at__gt=notice.ack_deadline) if notice.ack_deadline else Q(pk__in=[])
    agg = dict(total=Count("id"), read=Count("id", filter=Q(read_at__isnull=False)),
               acked=Count("id", filter=Q(acked_at__isnull=False)), late=Count("id", filter=late))
    grouped = {}
    if child_len:
        for row in receipts.annotate(prefix=Substr("region_code", 1, child_len)).values("prefix").annotate(**agg):
            grouped[row["prefix"]] = row
    else:
        row = receipts.aggregate(**agg)
        if row["total"]:
            grouped[node] = {"prefix": node, **row}
    rows = []
    empty = {"total": 0, "read": 0, "acked": 0, "late": 0}
    if child_len:
        children = Region.objects.filter(parent_id=node).order_by("code").values_list("code", "name", "level")
        for code, name, level in children:
            if not (whole or scope.covers(code) or any(p.startswith(code) for p in scope.region_prefixes)):
                continue
            r = grouped.get(code, empty)
            rows.append(_row(code, name, level, r, drill=level < 4 and r["total"] > 0))
    if node in grouped:
        rows.append(_row(node, f"{region.name}（本级）", region.level, grouped[node], drill=False))
    if whole and node == notice.target_region_id:
        dept = Receipt.objects.filter(notice=notice, region_code="").aggregate(**agg)
        if dept["total"]:
            rows.append(_row("", "职能部门", None, dept, drill=False))
    totals = {k: sum(r[k] for r in rows) for k in empty}
    return {"node": {"code": region.code, "name": region.name, "level": region.level},
            "path": [{"code": r.code, "name": r.name} for r in Region.objects.filter(
                code__in=[node[:n] for n in (6, 9, 12, 15) if len(root) <= n <= len(node)]).order_by("code")],
            "requires_ack": notice.requires_ack, "rows": rows, "totals": _rates(totals)}


def _row(code, name, level, r, *, drill: bool) -> dict:
    return _rates({"code": code, "name": name, "level": level, "total": r["total"], "read": r["read"],
                   "acked": r["acked"], "late": r["late"], "drill": drill})


def _rates(row: dict) -> dict:
    total = row["total"]
    row["read_rate"] = round(100 * row["read"] / total, 1) if total else None
    row["ack_rate"] = round(100 * row["acked"] / total, 1) if total else None
    return row


def notice_receipts(user, notice: Notice, *, node: str | None = None, state: str | None = None):
    """Receipts of a notice under a node the viewer may see (for the not-yet-acknowledged list and the export)."""
    stats_node = notice_stats(user, notice, node)["node"]["code"]  # the same access rules
    qs = (Receipt.objects.filter(notice=notice).select_related("user", "department")
          .order_by("region_code", "user__username"))
    if not (sees_whole(user, notice) and node in (None, "", notice.target_region_id)):
        qs = qs.filter(region_code__startswith=stats_node)
    if state == "unread":
        qs = qs.filter(read_at__isnull=True)
    elif state == "unacked":
        qs = qs.filter(acked_at__isnull=True)
    return qs


def report_list(user, *, status: str | None = None, category: str | None = None, region: str | None = None,
                q: str = "", mine: bool = False):
    """The report desk: reports from grids in the user's scope (and their own), newest first."""
    qs = Report.objects.visible_to(user).select_related("author", "region", "case")
    if mine:
        qs = qs.filter(author=user)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if region:
        qs = qs.filter(region__code__startswith=str(region))
    q = (q or "").strip()[:100]
    if q:
        qs = qs.filter(text__icontains=q)
    return qs.order_by("-created_at", "-id")

"""Who sees which application: one scope filter, and one access function per entity.

- Region roles with egov.view (grid worker, grid administrator, town operator, city operator) see
  the applications whose applicant's grid lies under their node: the village its applicants, the
  town its town, the city everything.
- Department roles see the applications of *their* items (the item's responsible department is
  theirs; a station such as a 派出所 also handles its parent bureau's items) and only inside their
  department's jurisdiction.
- Everyone else (village cadres, the auditor, the system administrator) sees none: 403 for the
  module, and no rows.

Missing and out-of-scope rows are the same 404.
"""

from typing import Any

from django.db.models import Q

from gridgov.accounts.choices import DEPARTMENT_ROLES, REGION_ROLE_LEVELS
from gridgov.accounts.policy import PERMISSIONS, can, require
from gridgov.core.errors import NotFound

from .models import Application, ApplicationMaterial, Payment

NOTHING = Q(pk__in=[])


def _prefix_q(field: str, prefixes) -> Q:
    q = Q()
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def application_scope_q(user, field_prefix: str = "") -> Q:
    """A Q over Application (or, with `field_prefix="application__"`, a table pointing at one)
    matching the applications `user` may see. Computed once per user object."""
    cached = getattr(user, "_egov_scope", None)
    if cached is None:
        cached = _scope_parts(user)
        if user is not None and getattr(user, "is_authenticated", False):
            user._egov_scope = cached
    region_prefixes, department_parts = cached
    if not region_prefixes and not department_parts:
        return NOTHING
    p = field_prefix
    q = _prefix_q(f"{p}region__code", region_prefixes) if region_prefixes else Q(pk__in=[])
    for codes, prefixes in department_parts:
        q |= Q(**{f"{p}department_code__in": sorted(codes)}) & _prefix_q(f"{p}region__code", prefixes)
    return q


def _scope_parts(user) -> tuple[tuple[str, ...], list[tuple[frozenset[str], tuple[str, ...]]]]:
    if not can(user, "egov.view"):
        return (), []
    from gridgov.accounts.models import Assignment, Department

    viewers = PERMISSIONS["egov.view"]
    region_codes: set[str] = set()
    department_ids: set[int] = set()
    for role, region_id, department_id in Assignment.objects.filter(user=user, is_active=True).values_list(
        "role", "region_id", "department_id"
    ):
        if role not in viewers:
            continue
        if role in REGION_ROLE_LEVELS and region_id:
            region_codes.add(region_id)
        elif role in DEPARTMENT_ROLES and department_id:
            department_ids.add(department_id)
    kept: list[str] = []
    for code in sorted(region_codes, key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    parts = []
    if department_ids:
        departments = (Department.objects.filter(pk__in=department_ids, is_active=True)
                       .select_related("parent").prefetch_related("jurisdiction"))
        for dept in departments:
            codes = {dept.code}
            if dept.parent_id is not None:
                codes.add(dept.parent.code)
            prefixes = tuple(sorted(r.pk for r in dept.jurisdiction.all()))
            if prefixes:
                parts.append((frozenset(codes), prefixes))
    return tuple(sorted(kept)), parts


def forget(user) -> None:
    if hasattr(user, "_egov_scope"):
        del user._egov_scope


def _pk(value: Any) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if pk <= 0 or pk > 2**62:
        raise NotFound()
    return pk


def access_application(user, application_id, *, for_update: bool = False) -> Application:
    """The application if `user` may see it (403 without egov.view, 404 when missing or outside)."""
    require(user, "egov.view")
    qs = Application.objects.visible_to(user).filter(pk=_pk(application_id))
    if for_update:
        # Lock the application row alone: PostgreSQL refuses FOR UPDATE across nullable joins.
        app = qs.select_for_update().first()
    else:
        app = qs.select_related("item", "applicant", "region", "agent", "accepted_by").defer(
            "applicant__health_note", "region__geom_wkb").first()
    if app is None:
        raise NotFound()
    return app


def access_material(user, application_id, material_id) -> ApplicationMaterial:
    app = access_application(user, application_id)
    material = ApplicationMaterial.objects.filter(application=app, pk=_pk(material_id)).first()
    if material is None:
        raise NotFound()
    material.application = app
    return material


def access_payment(user, payment_id, *, for_update: bool = False) -> Payment:
    require(user, "egov.view")
    qs = Payment.objects.filter(application_scope_q(user, "application__"), pk=_pk(payment_id))
    if for_update:
        payment = Payment.objects.select_for_update().filter(pk__in=qs.values("pk")).first()
    else:
        payment = qs.first()
    if payment is None:
        raise NotFound()
    return payment


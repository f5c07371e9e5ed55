"""Access to one component: 404 for missing and out of scope alike, 403 without the permission."""

from gridgov.accounts.policy import require
from gridgov.cases.models.component import Component
from gridgov.core.errors import NotFound


def access_component(user, component_id: int, *, for_update: bool = False) -> Component:
    require(user, "components.view")
    qs = Component.objects.visible_to(user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    component = qs.select_related("category", "region", "owner_department").filter(pk=component_id).first()
    if component is None:
        raise NotFound()
    return component


def access_component_by_code(user, code: str) -> Component:
    require(user, "components.view")
    component = (Component.objects.visible_to(user).select_related("category", "region", "owner_department")
                 .filter(code=str(code or "").strip()).first())
    if component is None:
        raise NotFound()
    return component

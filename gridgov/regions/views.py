from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from gridgov.accounts.policy import get_scope
from gridgov.core.errors import NotFound, PermissionDenied

from . import selectors
from .choices import RegionKind, RegionLevel

# The order the "below this node" counts are shown in, top of the tree first.
KIND_ORDER = [RegionKind.STREET, RegionKind.TOWN, RegionKind.TOWNSHIP, RegionKind.COMMUNITY, RegionKind.VILLAGE,
              RegionKind.GRID]
# Placeholder the map script swaps for a child's code to build the link to its page.
CODE_PLACEHOLDER = "__code__"


@login_required
def region_detail(request, code: str):
    """One node of the tree: where it sits, a map of what lies below it, and a table of its children.

    Missing, malformed and out-of-scope codes are all a 404, so existence is not disclosed.
    """
    try:
        region = selectors.region_get(user=request.user, code=code)
        children = list(selectors.region_children(user=request.user, code=code))
    except (NotFound, PermissionDenied):
        raise Http404 from None
    scope = get_scope(request.user)
    # Ancestors above the user's own node are named (so a grid worker sees where they are)
    # but only the nodes inside the scope are links.
    breadcrumb = [{**b, "link": scope.covers(b["code"])} for b in selectors.region_breadcrumb(region)]
    counts = selectors.region_child_counts(region)
    child_counts = [{"kind": k, "label": k.label, "n": counts[k]} for k in KIND_ORDER if counts.get(k)]
    return render(request, "regions/region_detail.html", {
        "region": region,
        "is_grid": region.level == RegionLevel.GRID,
        "breadcrumb": breadcrumb,
        "children": children,
        "child_counts": child_counts,
        "geojson_url": reverse("api:region_geojson", kwargs={"code": region.code}),
        "detail_url_template": reverse("regions:detail", kwargs={"code": CODE_PLACEHOLDER}),
        "code_placeholder": CODE_PLACEHOLDER,
    })

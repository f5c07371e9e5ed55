from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from gridgov.core.errors import NotFound, PermissionDenied

from . import selectors


@login_required
def region_detail(request, code: str):
    try:
        region = selectors.region_get(user=request.user, code=code)
    except (NotFound, PermissionDenied):
        raise Http404 from None
    return render(request, "regions/region_detail.html", {
        "region": region,
        "breadcrumb": selectors.region_breadcrumb(region),
        "children": selectors.region_children(user=request.user, code=code),
        "child_counts": selectors.region_child_counts(region),
    })

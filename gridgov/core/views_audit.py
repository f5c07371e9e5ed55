import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from gridgov.core.errors import PermissionDenied

from .forms import AuditFilterForm
from .selectors import audit_entry_list

PAGE_SIZE = 50


@login_required
def audit_list(request):
    """The audit log for auditors, newest first, filtered and paginated; 403 for every other role.

    Invalid filters show their errors and no rows, rather than silently listing everything.
    """
    form = AuditFilterForm(request.GET or None)
    filters = {}
    valid = not form.is_bound or form.is_valid()
    if form.is_bound and valid:
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    try:
        entries = audit_entry_list(user=request.user, **filters)
    except PermissionDenied:
        return render(request, "core/forbidden.html", status=403)
    if not valid:
        entries = entries.none()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.changes_text = json.dumps(entry.changes, ensure_ascii=False, sort_keys=True) if entry.changes else ""
    return render(request, "core/audit_list.html", {
        "form": form, "page": page, "filtered": bool(filters), "valid": valid,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
    })

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from gridgov.core.errors import PermissionDenied

from .forms import AuditFilterForm
from .selectors import audit_entry_list


@login_required
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        entries = audit_entry_list(user=request.user, **{k: v for k, v in filters.items() if v})
    except PermissionDenied:
        return render(request, "core/forbidden.html", status=403)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit_list.html", {"form": form, "page": page})

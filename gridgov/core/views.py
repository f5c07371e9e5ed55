from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from gridgov.accounts.policy import can, get_scope


@require_GET
def healthz(request):
    """Liveness and database reachability, for the load balancer and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:
        return JsonResponse({"status": "error", "code": "database_unavailable"}, status=503)


@login_required
def home(request):
    """Send each user to where their work starts: their region's map, or the audit log."""
    scope = get_scope(request.user)
    if scope.root_codes and can(request.user, "regions.view"):
        if len(scope.root_codes) == 1:
            return redirect("regions:detail", code=scope.root_codes[0])
        from gridgov.regions.models import Region

        roots = Region.objects.filter(code__in=scope.root_codes).only("code", "name", "kind").order_by("code")
        return render(request, "core/home.html", {"roots": roots})
    if can(request.user, "audit.view"):
        return redirect("core:audit")
    return render(request, "core/home.html", {"roots": []})


def api_not_found(request, rest: str = ""):
    """Unknown paths under /api/ answer in the API's error shape, not with an HTML page."""
    return JsonResponse({"code": "not_found", "message": "接口不存在"}, status=404)

"""Pages of the people registry: search, a person, a household, organisations, Excel export.

Thin: parse a form, call a selector or service, render. Missing and out-of-scope rows are a 404,
a missing permission the 403 page; service errors become form errors. Masks and names come from
presenters, so a page shows exactly what the API shows.
"""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_POST

from gridgov.accounts.policy import can
from gridgov.core.errors import ApplicationError, NotFound, PermissionDenied

from . import selectors, services
from .export import action_label, resident_export
from .forms import CorrectionForm, ExportForm, OrganisationSearchForm, ReasonForm, ResidentSearchForm, RevealForm
from .presenters import (
    REVEALABLE_FIELDS,
    change_rows,
    display_name,
    masked_id,
    masked_phone,
    shows_names,
    tag_attribute_rows,
)

PAGE_SIZE = 25
HISTORY_LIMIT = 50
VISIT_LIMIT = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _forbidden(request):
    return render(request, "core/forbidden.html", status=403)


def _page(request, qs, size: int = PAGE_SIZE):
    page = Paginator(qs, size).get_page(request.GET.get("page"))
    return page, page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


def _present(resident, full_names: bool):
    resident.display_name = display_name(resident.name, full=full_names)
    resident.id_masked = masked_id(resident.id_number)
    resident.phone_masked = masked_phone(resident.phone)
    return resident


def _form_errors(form, exc: ApplicationError) -> None:
    errors = (exc.extra or {}).get("errors") or {}
    placed = False
    for field, message in errors.items():
        if field in form.fields:
            form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@login_required
def resident_list(request):
    """Search residents of the user's scope by name, ID tail, exact ID or phone, address, group.

    The form posts; an exact ID number or phone is turned into its blind-index token and the
    search continues as a GET on a URL without the number, so the number stays out of URLs, access
    logs, browser history and the page (a search is still bookmarkable and paginated).
    """
    if not can(request.user, "people.view"):
        return _forbidden(request)
    tag_types = list(selectors.care_tag_type_list(user=request.user))
    if request.method == "POST" or "id_number" in request.GET or "phone" in request.GET:
        data = request.POST if request.method == "POST" else request.GET
        form = ResidentSearchForm(data, tag_types=tag_types)
        if form.is_valid():
            filters = form.filters()
            filters.update(selectors.exact_search_tokens(id_number=filters.pop("id_number", None),
                                                         phone=filters.pop("phone", None)))
            return redirect(f"{reverse('people:resident_list')}?{urlencode(filters)}" if filters
                            else "people:resident_list")
        return _render_list(request, form, valid=False, filters={}, status=400)
    form = ResidentSearchForm(request.GET or None, tag_types=tag_types)
    valid = not form.is_bound or form.is_valid()
    filters = form.filters() if form.is_bound and valid else {}
    return _render_list(request, form, valid=valid, filters=filters)


def _render_list(request, form, *, valid: bool, filters: dict, status: int = 200):
    qs = None
    if valid:
        try:
            qs = selectors.resident_list(user=request.user, **filters)
        except ApplicationError as exc:
            _form_errors(form, exc)
            valid = False
    if qs is None:
        qs = selectors.resident_list(user=request.user).none()
    page, page_range = _page(request, qs)
    full = shows_names(request.user)
    for resident in page.object_list:
        _present(resident, full)
    return render(request, "people/resident_list.html", {
        "form": form, "page": page, "page_range": page_range, "filtered": bool(filters), "valid": valid,
        "exact": bool(filters.get("id_index") or filters.get("phone_index")),
        "can_export": can(request.user, "people.export"),
        "can_import": can(request.user, "people.import"),
        "can_export_unmasked": can(request.user, "people.export.unmasked"),
        "export_filters": filters,
    }, status=status)


def _visits(user, resident):
    try:
        from gridgov.visits.selectors import visit_list_for_resident
    except ImportError:  # the registry works without the visits module
        return None
    return list(visit_list_for_resident(user=user, resident=resident)[:VISIT_LIMIT])


def _detail_context(request, resident, **extra):
    user = request.user
    full = shows_names(user)
    _present(resident, full)
    for tag in resident.visible_tags:
        tag.attribute_rows = tag_attribute_rows(tag)
    history = list(selectors.resident_history(user=user, resident=resident)[:HISTORY_LIMIT])
    tag_names = {t.code: t.name for t in selectors.care_tag_type_list(user=user)}
    for entry in history:
        entry.label = action_label(entry.action)
        entry.change_rows = change_rows(entry.changes, tag_names)
    household = resident.household
    members = []
    if household is not None:
        members = [_present(m, full) for m in selectors.household_get(user=user, household_id=household.pk).member_list
                   if m.pk != resident.pk]
    context = {
        "resident": resident,
        "chain": selectors.resident_region_names(resident),
        "household": household,
        "members": members,
        "guardian_name": display_name(resident.guardian.name, full=full) if resident.guardian_id else "",
        "history": history,
        "visits": _visits(user, resident),
        "revealable": REVEALABLE_FIELDS,
        "can_reveal": can(user, "people.reveal"),
        "can_edit": can(user, "people.edit"),
        "can_subject_access": can(user, "people.subject_access"),
        "reveal_form": RevealForm(),
        "access_form": ReasonForm(),
        "revealed": None,
    }
    context.update(extra)
    return context


@login_required
def resident_detail(request, pk: int):
    """A person: masked identity, visible care tags, household, visits, and the history of changes."""
    try:
        resident = selectors.resident_get(user=request.user, resident_id=pk)
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    return render(request, "people/resident_detail.html", _detail_context(request, resident))


@login_required
@require_POST
def resident_reveal(request, pk: int):
    """Shows the plaintext once, in this response only, after a permission check and a reason."""
    try:
        resident = selectors.resident_get(user=request.user, resident_id=pk)
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    form = RevealForm(request.POST)
    revealed, status = None, 200
    if form.is_valid():
        try:
            values = services.resident_reveal(acting_user=request.user, resident_id=pk,
                                              fields=form.cleaned_data["what"], reason=form.cleaned_data["reason"])
            revealed = [{"label": REVEALABLE_FIELDS[k], "value": v or "（未填写）"} for k, v in values.items()]
        except PermissionDenied:
            return _forbidden(request)
        except ApplicationError as exc:
            _form_errors(form, exc)
            status = 400
    else:
        status = 400
    response = render(request, "people/resident_detail.html",
                      _detail_context(request, resident, reveal_form=form if revealed is None else RevealForm(),
                                      revealed=revealed), status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def resident_correct(request, pk: int):
    """A correction with its reason (PIPL 更正); it appears in the person's history."""
    try:
        resident = selectors.resident_get(user=request.user, resident_id=pk)
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    if not can(request.user, "people.edit"):
        return _forbidden(request)
    initial = {k: getattr(resident, k) for k in CorrectionForm.PLAIN}
    form = CorrectionForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.resident_correct(acting_user=request.user, resident_id=pk, data=form.changes(),
                                          reason=form.cleaned_data["reason"])
            except PermissionDenied:
                return _forbidden(request)
            except NotFound:
                raise Http404 from None
            except ApplicationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "已更正，更正记录见“变更记录”。")
                return redirect("people:resident_detail", pk=pk)
        status = 400
    _present(resident, shows_names(request.user))
    return render(request, "people/resident_correct.html", {"resident": resident, "form": form}, status=status)


@login_required
@require_POST
def resident_subject_access(request, pk: int):
    """The person's own data as an .xlsx, for their access request; logged with the stated reason."""
    form = ReasonForm(request.POST)
    if not form.is_valid():
        try:
            resident = selectors.resident_get(user=request.user, resident_id=pk)
        except NotFound:
            raise Http404 from None
        except PermissionDenied:
            return _forbidden(request)
        return render(request, "people/resident_detail.html", _detail_context(request, resident, access_form=form),
                      status=400)
    try:
        package = services.resident_subject_access_export(acting_user=request.user, resident_id=pk,
                                                          reason=form.cleaned_data["reason"])
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    response = HttpResponse(package.xlsx, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, package.filename)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def household_detail(request, pk: int):
    """A household with its head, addresses and members (each masked, with their visible tags)."""
    try:
        household = selectors.household_get(user=request.user, household_id=pk)
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        return _forbidden(request)
    full = shows_names(request.user)
    for member in household.member_list:
        _present(member, full)
    return render(request, "people/household_detail.html", {
        "household": household,
        "head_name": display_name(household.head.name, full=full) if household.head_id else "",
    })


@login_required
def organisation_list(request):
    if not can(request.user, "people.view"):
        return _forbidden(request)
    form = OrganisationSearchForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    filters = form.filters() if form.is_bound and valid else {}
    qs = selectors.organisation_list(user=request.user, **filters)
    if not valid:
        qs = qs.none()
    page, page_range = _page(request, qs)
    for org in page.object_list:
        org.phone_masked = masked_phone(org.contact_phone)
    return render(request, "people/organisation_list.html", {
        "form": form, "page": page, "page_range": page_range, "filtered": bool(filters), "valid": valid,
    })


@login_required
@require_POST
def resident_export_view(request):
    """The residents matching the search as .xlsx (masked unless authorised and asked); audited."""
    if not can(request.user, "people.export"):
        return _forbidden(request)
    tag_types = list(selectors.care_tag_type_list(user=request.user))
    form = ExportForm(request.POST, tag_types=tag_types)
    if not form.is_valid():
        messages.error(request, "导出条件有误：" + "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("people:resident_list")
    filters = form.filters()
    unmasked = bool(filters.pop("unmasked", False))
    output = tempfile.TemporaryFile()
    try:
        result = resident_export(acting_user=request.user, output=output, unmasked=unmasked, filters=filters)
    except PermissionDenied:
        output.close()
        return _forbidden(request)
    except ApplicationError as exc:
        output.close()
        messages.error(request, exc.message)
        return redirect("people:resident_list")
    output.seek(0)
    response = FileResponse(output, as_attachment=True, filename=result.filename, content_type=XLSX)
    response["Cache-Control"] = "no-store"
    return response

"""/api/v1/my/: the resident self-service API. Authentication is the resident cookie (auth.py), never
a staff token; sign-in endpoints are open and rate-limited."""

from datetime import date
from typing import Any

from django.http import HttpResponse
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from gridgov.core.errors import ValidationFailed
from gridgov.core.pagination import MAX_PAGE_SIZE

from . import presenters, selectors, services
from .auth import ResidentCookie, address, clear_cookie, set_cookie

router = Router(tags=["selfservice"], auth=ResidentCookie())


class PhoneIn(Schema):
    phone: str


class CodeIn(Schema):
    phone: str
    code: str


class MessageOut(Schema):
    message: str


class Page(Schema):
    count: int
    items: list[dict[str, Any]]


def _page(qs, page: int, page_size: int, present) -> dict:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed("页码应从 1 开始，每页 1-200 条", code="invalid_page", extra={"field": "page"})
    offset = (page - 1) * page_size
    return {"count": qs.count(), "items": [present(o) for o in qs[offset:offset + page_size]]}


SENT = "若该号码已在本市登记，验证码已发送，5 分钟内有效"


@router.post("/otp", auth=None, response={202: MessageOut})
def otp_send(request, body: PhoneIn):
    """Sends a sign-in code; the answer is the same whether or not the phone is registered."""
    services.otp_request(phone=body.phone, address=address(request))
    return Status(202, {"message": SENT})


@router.post("/session", auth=None, response={200: dict[str, Any]})
def session_open(request, body: CodeIn, response: HttpResponse):
    session, raw = services.otp_verify(phone=body.phone, code=body.code, address=address(request))
    set_cookie(request, response, raw)
    return presenters.resident_out(session.resident)


@router.delete("/session", response={204: None})
def session_close(request, response: HttpResponse):
    services.session_end(session=request.auth)
    clear_cookie(response)
    return Status(204, None)


@router.get("/me", response=dict[str, Any])
def me(request):
    resident = request.auth.resident
    return {**presenters.resident_out(resident),
            "members": [m.name for m in selectors.members(resident)]}


@router.get("/points", response=dict[str, Any])
def points(request):
    return presenters.points_out(selectors.household_points(request.auth.resident))


@router.get("/applications", response=Page)
def applications(request, page: int = 1, page_size: int = 20):
    return _page(selectors.application_list(request.auth.resident), page, page_size, presenters.application_out)


@router.get("/applications/{application_id}", response=dict[str, Any])
def application(request, application_id: int):
    return presenters.application_out(selectors.application_get(request.auth.resident, application_id))


@router.get("/reports", response=Page)
def reports(request, page: int = 1, page_size: int = 20):
    return _page(selectors.report_list(request.auth.resident), page, page_size, presenters.case_out)


@router.get("/reports/{number}", response=dict[str, Any])
def report(request, number: str):
    return presenters.case_out(selectors.report_get(request.auth.resident, number), detail=True)


@router.post("/reports", response={200: dict[str, Any], 201: dict[str, Any]})
def report_create(request, category: Form[str], description: Form[str], lon: Form[str] = "", lat: Form[str] = "",
                  address: Form[str] = "", form_id: Form[str] = "", photo: File[UploadedFile] = None):
    """Reports a problem (with an optional photo and position); a resubmitted form_id returns the first."""
    case = services.problem_report(resident=request.auth.resident, category=category, description=description,
                                   lon=lon or None, lat=lat or None, address=address, photo=photo,
                                   form_id=form_id or None)
    return Status(200 if case.replayed else 201, presenters.case_out(case))


@router.post("/deeds", response={200: dict[str, Any], 201: dict[str, Any]})
def deed_create(request, item: Form[str], occurred_on: Form[date], description: Form[str], form_id: Form[str] = "",
                photo: File[UploadedFile] = None):
    """Reports a good deed: a points claim awaiting the village cadres' verification."""
    claim = services.good_deed_report(resident=request.auth.resident, item=item, occurred_on=occurred_on,
                                      description=description, photo=photo, form_id=form_id or None)
    return Status(200 if claim.replayed else 201, {"id": claim.pk, "item": claim.item.name, "points": claim.points,
                                                   "status": claim.status, "status_label": claim.get_status_display()})


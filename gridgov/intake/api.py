"""/api/v1/intake: the intake log (list with filters, one message) and hotline calls.

The SMS gateway and WeChat call their own endpoints under /intake/ (webhooks.py, wechat.py): they
sign requests instead of holding an API token."""

from datetime import date, datetime

from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from gridgov.core.pagination import PageNumberCount

from . import selectors, services
from .presenters import message_row

router = Router(tags=["intake"])


class IntakeMessageOut(Schema):
    id: int
    channel: str
    channel_display: str
    external_id: str
    sender: str = Field(description="发送方（手机号脱敏；微信用户不显示 OpenID）")
    sender_name: str
    msg_type: str
    body: str
    outcome: str
    outcome_display: str
    reply: str
    error_code: str
    region_code: str
    case_id: int | None
    case_number: str | None
    claim_id: int | None
    operator: str
    created_at: datetime


class MessageFilters(Schema):
    channel: str = Field("", description="sms / wechat / hotline")
    outcome: str = Field("", description="case / claim / unregistered / rejected / info")
    q: str = Field("", max_length=64, description="消息编号、案件编号或内容")
    date_from: date | None = None
    date_to: date | None = None


class CallIn(Schema):
    call_ref: str = Field(..., max_length=40, description="来电编号（话务系统的呼叫流水号），同一编号只登记一次")
    caller_phone: str = Field(..., max_length=20)
    caller_name: str = Field("", max_length=50)
    kind: str = Field(..., description="case（事件上报）或 claim（好人好事积分申报）")
    description: str = Field(..., max_length=2000)
    category: str = Field("", max_length=16, description="案件分类代码；空则为“其他”，由中心登记时改分类")
    grid: str = Field("", max_length=15)
    lon: float | None = None
    lat: float | None = None
    address: str = Field("", max_length=200)


class CallOut(IntakeMessageOut):
    replayed: bool


@router.get("/messages", response=list[IntakeMessageOut], summary="接入消息列表")
@paginate(PageNumberCount)
def message_list(request, filters: Query[MessageFilters]):
    qs = selectors.message_list(user=request.auth, **filters.dict())
    return _Rows(qs)


class _Rows:
    """A queryset the paginator can count and slice, presenting each row."""

    def __init__(self, qs):
        self.qs = qs

    def count(self):
        return self.qs.count()

    def __getitem__(self, item):
        return [message_row(m) for m in self.qs[item]]


@router.get("/messages/{message_id}", response=IntakeMessageOut, summary="一条接入消息")
def message_detail(request, message_id: int):
    return message_row(selectors.message_get(user=request.auth, message_id=message_id))


@router.post("/hotline/calls", response={200: CallOut, 201: CallOut}, summary="登记来电（事件或积分申报）")
def hotline_call(request, payload: CallIn):
    msg, replayed = services.hotline_call_record(acting_user=request.auth, **payload.dict())
    msg = selectors.InboundMessage.objects.select_related("case", "operator").get(pk=msg.pk)
    return Status(200 if replayed else 201, {**message_row(msg), "replayed": replayed})

"""Demo intake: a handful of messages on each channel (docs/intake.md), so the intake log, the
centre's accept queue and the village's claim list show where residents' messages went.

Deterministic (the first registered residents of 湖山村 by id, fixed texts and ids) and fast: a
dozen service calls. Sends no SMS: the replies are stored on the messages only.
"""

from collections.abc import Callable

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Assignment
from gridgov.intake import services
from gridgov.intake.models import Channel, InboundMessage
from gridgov.people.choices import ResidentState
from gridgov.people.models import Resident
from gridgov.regions.models import Region

HUSHAN = "420881103201"  # 湖山村, 胡集镇
YUANTAI_GRID = "420881103202001"  # 袁台村 first grid


def _residents(count: int) -> list[Resident]:
    found = []
    for person in (Resident.objects.filter(region__code__startswith=HUSHAN, state=ResidentState.ACTIVE,
                                           household__isnull=False).exclude(phone_index="").order_by("id")[:50]):
        phone = person.phone
        if len(phone) == 11 and phone.startswith("1") and services.resident_by_phone(phone).pk == person.pk:
            found.append(person)
        if len(found) == count:
            break
    return found


def seed_intake(*, seed: int, progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    """A few SMS, WeChat and hotline messages in 胡集镇; call after the people and the points items."""
    if InboundMessage.objects.filter(external_id__startswith="DEMO-").exists():
        return {"intake_messages": 0}
    people = _residents(2)
    operator = (Assignment.objects.filter(role=Role.TOWN_OPERATOR, region_id=HUSHAN[:9], is_active=True)
                .select_related("user").order_by("id").first())
    grid = Region.objects.filter(code=YUANTAI_GRID).first()
    reports = []
    if people:
        reports.append(services.Report(channel=Channel.SMS, external_id="DEMO-SMS-0001", sender=people[0].phone,
                                       phone=people[0].phone, text="报 村口到二组的路灯有三盏不亮，晚上走路看不清"))
    if len(people) > 1:
        reports.append(services.Report(channel=Channel.SMS, external_id="DEMO-SMS-0002", sender=people[1].phone,
                                       phone=people[1].phone, text="好人好事 帮独居的邻居老人抢收了两亩稻谷"))
    reports.append(services.Report(channel=Channel.SMS, external_id="DEMO-SMS-0003", sender="19900000000",
                                   phone="19900000000", text="镇上菜市场门口积水很深"))
    if grid is not None and grid.centroid_lon is not None:
        reports.append(services.Report(channel=Channel.WECHAT, external_id="DEMO-WX-0001", sender="oDemoOpenId0001",
                                       text="报 水渠被垃圾堵住了，雨天漫到路上", msg_type="text",
                                       lon=grid.centroid_lon, lat=grid.centroid_lat, address="袁台村水渠边",
                                       intent="case"))
    if operator is not None:
        reports.append(services.Report(channel=Channel.HOTLINE, external_id="DEMO-CALL-0001", sender="13972000001",
                                       phone="13972000001", sender_name="赵先生", text="湖山村二组电线杆倾斜，担心倒下",
                                       intent="case", grid=f"{HUSHAN}002", operator=operator.user, msg_type="call"))
    made = 0
    for report in reports:
        _, replayed = services.receive(report)
        made += not replayed
    progress(f"渠道接入：{made} 条演示消息")
    return {"intake_messages": made}

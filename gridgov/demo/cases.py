"""Demo cases: some months of events and cases across the county, and the article's story.

`seed_cases()` plans a few thousand cases with a seeded RNG and writes them with bulk inserts:
the case rows, their timelines (one event per transition, in order, with the actor who would have
taken it), dispatches, extension requests, the suspension register, evaluations and a few shared
demo photos. Each case follows the workflow table (cases/workflow.py) from its report as far as
the clock allows: a case reported this morning is still on the desk, one from last month is
mostly closed. Outcomes follow what a county desk sees: most cases closed on time, some late (the
overdue sweep's escalation events are written where the sweep would have written them), returns
and re-dispatches, extensions, failed verifications, grid workers' on-the-spot fixes, a few
rejected, voided, merged and suspended ones. Stage clocks of open cases come from cases.deadlines.

`seed_article_story()` tells the article's 2018 story in 胡集镇袁台村 through the real services, so
its timeline is exactly what the product writes: the grid worker on patrol finds that the air
conditioner of 胡某 (who works away) has been stolen and reports it; the town desk dispatches it to
胡集派出所; the grid administrator 魏林 reviews the village camera; the suspect is caught within a
week; the case is verified, closed and evaluated.
"""

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from unittest import mock

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, User
from gridgov.cases import deadlines, routing, services
from gridgov.cases.access import prefix_q
from gridgov.cases.choices import (
    OPEN_STATES,
    STAGE_OF_STATE,
    AttachmentKind,
    CaseState,
    DispatchEnd,
    DispatchRole,
    EscalationLevel,
    EvaluatorKind,
    ExtensionStatus,
    Source,
    Stage,
    Urgency,
)
from gridgov.cases.models import (
    Case,
    CaseAttachment,
    CaseCategory,
    CaseCounter,
    CaseDispatch,
    CaseEvent,
    Evaluation,
    ExtensionRequest,
    Suspension,
)
from gridgov.cases.services import common
from gridgov.core import workcal
from gridgov.core.audit import audit_record
from gridgov.core.crypto import blind_index
from gridgov.regions import codes as region_codes
from gridgov.regions.models import Region

from . import names
from .people.writing import insert_rows, row_preparer

COUNTY_CODE = "420881"
DEFAULT_CASES = 3000
DEFAULT_DAYS = 120
BATCH = 2000
SWEEP_DELAY = timedelta(minutes=10)  # the overdue sweep runs every few minutes
MIN_CENTROID_DISTANCE_M = 120  # keep demo points off the grid centroids that tests report at
URBAN_WEIGHT = 5.0  # a city grid produces about five times the cases of a rural one
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                  "158", "159", "177", "180", "186", "187", "189", "199")

HUJI = "420881103"
YUANTAI = "420881103202"  # 胡集镇袁台村
STORY_CATEGORY = "G0102"  # 治安隐患 · 盗窃线索
STORY_DAY = date(2018, 4, 16)  # a Monday in April 2018 (the article: "2018年4月")

# (category code, weight, descriptions, what the department reports back). {place} is the address.
RURAL = [
    ("G0201", 10, ["{place}两户村民因宅基地边界和排水沟问题发生争执，情绪激动",
                   "{place}邻里因鸡鸭散养、毁坏菜地发生口角，需调解"],
     ["已会同村调委会上门调解，双方签订调解协议", "民警和调解员到场调解，双方达成和解"]),
    ("G0204", 6, ["{place}两组村民因承包地边界发生纠纷，互不相让", "{place}林地界址不清，两户村民争执砍伐"],
     ["已会同镇国土所现场勘界，重新明确界址", "调取确权资料，现场核定边界，双方认可"]),
    ("G0202", 3, ["{place}一户家庭夫妻矛盾激化，老人无人赡养", "{place}村民反映兄弟间因赡养父母问题争吵"],
     ["已联合村妇联上门调解，签订赡养协议", "已入户调解，家庭矛盾已化解"]),
    ("G0203", 2, ["{place}十余名村民反映在附近砖厂务工工资被拖欠", "{place}村民反映包工头拖欠农民工工资"],
     ["已约谈用工单位，拖欠工资已全部结清", "劳动监察大队已立案，督促限期支付"]),
    ("G0102", 3, ["{place}村民家中夜间被盗，丢失电动车一辆", "{place}多户反映近期有陌生人夜间在村内游荡，疑似踩点"],
     ["民警已出警勘查并立案侦查，加强夜间巡逻", "已加强巡逻防控，并在路口增设临时卡点"]),
    ("G0104", 2, ["{place}夜间有人聚集酗酒滋事", "{place}村内麻将馆深夜喧哗，周边群众反映强烈"],
     ["民警到场处置，已批评教育并劝离", "已对场所负责人警告，责令规范经营"]),
    ("G0105", 2, ["{place}路口监控摄像头损坏，夜间无图像", "{place}村委会门口监控被树枝遮挡"],
     ["已通知运维单位更换摄像机，图像恢复", "已修剪树枝，监控画面恢复正常"]),
    ("G0301", 2, ["{place}小作坊使用液化气罐未按规定存放", "{place}养殖场沼气池盖板破损，存在坠落隐患"],
     ["已现场检查并下达整改通知，隐患已整改", "督促业主更换盖板并设置警示标志"]),
    ("G0305", 3, ["{place}村道急弯处缺少警示标志，近期多次发生剐蹭", "{place}三轮车违规载人，存在交通安全隐患"],
     ["已增设警示标志和减速带", "交警中队已开展专项整治并宣传教育"]),
    ("G0401", 2, ["{place}村内主巷道堆放柴草，堵塞消防通道", "{place}农家乐门前堆放杂物，占用消防通道"],
     ["已督促清理，消防通道已畅通", "已现场清理并告知户主不得再堆放"]),
    ("G0402", 3, ["{place}村民在楼道内给电动车充电，飞线充电", "{place}小卖部室内停放电动车充电"],
     ["已劝导整改，拆除飞线，引导到集中充电点", "已现场整改并开展消防宣传"]),
    ("E0109", 6, ["{place}田间焚烧秸秆，浓烟较大", "{place}村民焚烧垃圾和树叶"],
     ["已现场扑灭并宣传禁烧政策", "已责令停止焚烧，现场已处理"]),
    ("G0604", 3, ["{place}沟渠旁倾倒建筑垃圾", "{place}路边倾倒生活垃圾和废旧家具"],
     ["已组织清运，并在路口设置禁倒提示", "已清理完毕，约谈倾倒人"]),
    ("G0601", 1, ["{place}池塘水体发黑发臭，疑有养殖废水排入"], ["已现场取样检测，责令养殖户停排整改"]),
    ("G0701", 3, ["{place}村民未经审批在耕地上新建房屋", "{place}违规加盖三层，未办理审批手续"],
     ["已下达停工通知，责令限期拆除", "已依法立案查处，违建部分已拆除"]),
    ("G0702", 2, ["{place}有人在基本农田上堆土建设养殖棚"], ["已责令停止占用，恢复耕种条件"]),
    ("G0801", 4, ["{place}一户因病致贫，家中生活困难，申请救助", "{place}独居老人房屋漏雨，生活困难"],
     ["已入户核实，按规定纳入临时救助", "已协调维修房屋，并落实救助资金"]),
    ("G0805", 4, ["{place}村道路面破损，雨天积水出行困难", "{place}自来水停水三天，村民饮水困难"],
     ["已安排施工队修复路面", "已抢修供水管道，恢复供水"]),
    ("G0803", 1, ["{place}村卫生室无人值守，村民就医不便"], ["已协调镇卫生院安排医生定期坐诊"]),
    ("G0904", 2, ["{place}留守老人独自在家摔伤，子女在外务工", "{place}留守儿童放学后无人照看，常在河边玩耍"],
     ["已联系家属并安排邻里照看，纳入重点关爱", "已落实帮扶责任人，开展安全教育"]),
    ("G0901", 1, ["{place}严重精神障碍患者近期情绪不稳，家属难以看护"], ["已协调镇卫生院随访，调整用药，情况稳定"]),
    ("C0207", 3, ["{place}道路出现大面积坑洼", "{place}桥头路面塌陷开裂"], ["已修补路面", "已设置警示并完成修复"]),
    ("C0602", 2, ["{place}治安监控摄像头外壳脱落", "{place}监控立杆倾斜"], ["已维修加固", "已更换设备，图像正常"]),
    ("G0502", 1, ["{place}村头小卖部销售过期食品"], ["已现场检查，下架过期食品并立案处罚"]),
]
URBAN = [
    ("E0102", 10, ["{place}路边垃圾堆积未清运", "{place}小区门口暴露垃圾，气味较大"],
     ["已安排环卫清运，现场已清理干净", "已清运并增加该点位保洁频次"]),
    ("E0104", 4, ["{place}路面泥土遗撒，道路不洁"], ["已安排洒水车冲洗路面"]),
    ("E0201", 6, ["{place}电线杆和墙面张贴大量小广告", "{place}公交站台乱贴小广告"],
     ["已清除小广告，并对号码实施停机处理", "已安排清理，加强巡查"]),
    ("E0502", 8, ["{place}流动摊贩占道经营，影响通行", "{place}菜贩占用人行道摆摊"],
     ["执法队员已劝离，现场恢复通行", "已规范至临时疏导点经营"]),
    ("E0503", 4, ["{place}商铺将货物摆出门外经营", "{place}餐馆在门外搭棚经营"],
     ["已责令退店经营，现场已整改", "已下达整改通知，当场整改完毕"]),
    ("E0505", 5, ["{place}车辆违停占用消防通道", "{place}人行道机动车乱停放"],
     ["交警已到场贴单，车辆已移走", "已开展违停整治"]),
    ("E0506", 3, ["{place}共享单车乱停放，堵塞人行道"], ["已协调运营企业清理，车辆已摆放整齐"]),
    ("E0504", 3, ["{place}装修垃圾和建材堆放在路边"], ["已督促业主清理"]),
    ("E0507", 2, ["{place}夜间露天烧烤，油烟扰民"], ["已劝导入室经营，现场已整改"]),
    ("C0101", 2, ["{place}上水井盖松动，车辆经过有响声"], ["已更换井盖"]),
    ("C0103", 2, ["{place}雨水井盖缺失，存在安全隐患"], ["已设置警示并补装井盖"]),
    ("C0107", 4, ["{place}路灯不亮，夜间出行不便", "{place}多盏路灯白天常亮"],
     ["已维修，路灯恢复正常", "已检修控制器"]),
    ("C0302", 3, ["{place}垃圾箱破损", "{place}果皮箱满溢"], ["已更换垃圾箱", "已清运并增加清运频次"]),
    ("C0204", 2, ["{place}道路隔离护栏被撞倒"], ["已修复护栏"]),
    ("E0301", 3, ["{place}工地夜间施工噪音扰民"], ["已责令夜间停工，未经许可不得夜间施工"]),
    ("E0302", 2, ["{place}工地未覆盖裸土，扬尘严重"], ["已督促覆盖防尘网并洒水降尘"]),
    ("E0303", 2, ["{place}渣土车沿途遗撒"], ["已查处渣土运输车辆，路面已清扫"]),
    ("E0110", 2, ["{place}餐馆油烟直排，居民反映强烈"], ["已责令安装油烟净化设施"]),
    ("G0201", 4, ["{place}楼上楼下因漏水问题发生纠纷"], ["社区调委会已调解，双方达成协议"]),
    ("G0402", 3, ["{place}小区楼道内电动车充电"], ["已劝导整改，引导到集中充电桩"]),
    ("G0401", 2, ["{place}小区消防通道被杂物堵塞"], ["已清理，消防通道畅通"]),
    ("G0603", 3, ["{place}商铺高音喇叭促销，噪声扰民"], ["已责令降低音量并规范经营"]),
    ("G0206", 2, ["{place}消费者反映商家预付卡跑路"], ["市场监管部门已立案调查，登记消费者信息"]),
    ("E0404", 1, ["{place}下水道堵塞，污水外溢"], ["已疏通下水道"]),
]
RETURN_REASONS = ["不属于本部门职责，请改派", "该问题已由其他部门处理，请核实后改派", "位置不在本部门管辖范围"]
FAIL_NOTES = ["现场复核，问题仍未整改到位", "群众反映问题反弹，需重新处置"]
EXTENSION_REASONS = ["需协调相关单位共同处置，申请延期", "材料采购中，需延长处置时间", "当事人外出，待返回后处理"]
SUSPEND_REASONS = ["涉及规划调整和资金安排，需列入明年计划", "当事人已提起诉讼，待法院判决", "需上级部门统一部署整治"]
REJECT_REASONS = ["经核实不属于平台受理范围，已告知通过司法途径解决", "反映情况经核实不存在"]
VOID_REASONS = ["重复录入", "网格员误报，已核实撤销"]
EVALUATION_COMMENTS = ["处置及时，群众满意", "办理规范，效果良好", "", "", "反馈及时", "基本解决，仍需持续关注"]


# --- demo photos --------------------------------------------------------------------------------------

PHOTO_COLOURS = [((120, 130, 120), (200, 160, 60)), ((90, 110, 140), (180, 60, 50)), ((150, 140, 110), (70, 120, 70)),
                 ((110, 110, 115), (220, 210, 190))]


def _jpeg(background, accent, seed: int) -> bytes:
    """A small JPEG that reads as a photo on the page (no text, no real place)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (480, 360), background)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 220, 480, 360], fill=tuple(max(0, c - 35) for c in background))
    for _ in range(6):
        x, y = rng.randint(40, 400), rng.randint(150, 300)
        w, h = rng.randint(30, 110), rng.randint(20, 70)
        draw.ellipse([x, y, x + w, y + h], fill=tuple(min(255, max(0, c + rng.randint(-40, 40))) for c in accent))
    draw.rectangle([0, 0, 480, 60], fill=tuple(min(255, c + 50) for c in background))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def demo_photos() -> list[tuple[str, int, str]]:
    """(storage name, size, sha256) of the shared demo photos, written once under MEDIA_ROOT/cases/demo/."""
    import hashlib

    out = []
    for i, (bg, accent) in enumerate(PHOTO_COLOURS):
        data = _jpeg(bg, accent, i)
        name = f"cases/demo/photo-{i + 1}.jpg"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(data))
        out.append((name, len(data), hashlib.sha256(data).hexdigest()))
    return out


# --- the plan -----------------------------------------------------------------------------------------

@dataclass
class Step:
    action: str
    at: datetime
    actor: int | None
    role: str
    to_state: str | None  # None: the state stays
    note: str = ""
    data: dict = field(default_factory=dict)
    photo: bool = False


@dataclass
class CasePlan:
    grid: str
    category: CaseCategory
    urgency: str
    source: str
    description: str
    address: str
    lon: float
    lat: float
    created_at: datetime
    reporter: int
    reporter_name: str = ""
    reporter_phone: str = ""
    external_ref: str = ""
    steps: list[Step] = field(default_factory=list)
    dispatches: list[dict] = field(default_factory=list)
    extensions: list[dict] = field(default_factory=list)
    suspensions: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    duplicate_of: int | None = None  # index into the plan list
    handle_clock: tuple[datetime, int] | None = None  # (start, working minutes) of the last handle stage
    absorbed: list[tuple[int, datetime]] = field(default_factory=list)


class World:
    """What the planner looks up: grids, accounts by post, departments, routing per (category, town)."""

    def __init__(self):
        grid_rows = Region.objects.filter(level=4).values_list("code", "name", "centroid_lon", "centroid_lat",
                                                              "geom_wkb")
        self.grids = {code: (name, lon, lat, wkb) for code, name, lon, lat, wkb in grid_rows}
        self.unit_names = dict(Region.objects.filter(level=3).values_list("code", "name"))
        users = User.objects.filter(is_demo=True).values_list("username", "pk", "full_name")
        self.users = {u: (pk, name) for u, pk, name in users}
        self.names = {pk: name for pk, name in self.users.values()}
        self.departments = {d.code: d for d in Department.objects.filter(is_active=True)}
        self._routes: dict[tuple[str, bool, str], str | None] = {}
        self._shapes: dict[str, object] = {}

    def user(self, username: str) -> int | None:
        found = self.users.get(username)
        return found[0] if found else None

    def name(self, user_id: int | None) -> str:
        return self.names.get(user_id, "") if user_id is not None else ""

    def route(self, category: CaseCategory, grid: str) -> str | None:
        """The suggested lead department's code (routing.suggest). The suggestion depends on the
        category only through its default department and station preference, so it is asked once
        per (department, preference, town)."""
        node, code = category, category.default_department_code
        while not code and node.parent_id:
            node = node.parent
            code = node.default_department_code
        key = (code, category.route_to_station, grid[:9])
        if key not in self._routes:
            region = Region.objects.get(code=grid)
            suggestion = routing.suggest(category=category, grid=region)
            self._routes[key] = suggestion.department.code if suggestion.department else None
        return self._routes[key]

    def point(self, rng: random.Random, grid: str) -> tuple[float, float]:
        """A random point inside the grid, away from its centroid (where tests report)."""
        import shapely

        name, clon, clat, wkb = self.grids[grid]
        shape = self._shapes.get(grid)
        if shape is None:
            shape = self._shapes[grid] = shapely.from_wkb(bytes(wkb)) if wkb else None
        if shape is None:
            return clon + 0.002, clat + 0.002
        min_x, min_y, max_x, max_y = shape.bounds
        for _ in range(40):
            x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
            far = _distance_m(x, y, clon, clat) >= MIN_CENTROID_DISTANCE_M
            if far and shape.contains(shapely.Point(x, y)):
                return round(x, 7), round(y, 7)
        return clon, clat + 0.0015


def _distance_m(lon1, lat1, lon2, lat2) -> float:
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, (lat2 - lat1) * 111_320)


def _local(dt: datetime) -> datetime:
    return timezone.localtime(dt)


def _office(at: datetime, rng: random.Random, *, urgent: bool = False) -> datetime:
    """`at`, or the next office moment (08:30-17:30 on a working day) for a desk that is closed."""
    if urgent:
        return at
    local = _local(at)
    day = local.date()
    if workcal.is_workday(day) and time(8, 30) <= local.time() <= time(17, 30):
        return at
    if not workcal.is_workday(day) or local.time() > time(17, 30):
        day = workcal.next_workday(day)
    opening = timezone.make_aware(datetime.combine(day, time(8, 30))) + timedelta(minutes=rng.randint(5, 70))
    return opening


def _working_after(start: datetime, minutes: float) -> datetime:
    return workcal.add_working_time(start, timedelta(minutes=max(1, minutes)))


class Planner:
    def __init__(self, world: World, rng: random.Random, now: datetime, categories: dict[str, CaseCategory]):
        self.w, self.rng, self.now, self.categories = world, rng, now, categories

    def desk(self, source: str, grid: str) -> tuple[int, str]:
        """The desk that works the case: the city centre for hotline/SMS/WeChat, else the town's centre."""
        if source in (Source.HOTLINE, Source.SMS, Source.WECHAT):
            return self.w.user(f"city-{self.rng.randint(1, 2)}"), Role.CITY_OPERATOR
        return self.w.user(f"to{grid[:9]}-{self.rng.randint(1, 2)}"), Role.TOWN_OPERATOR

    def dept_user(self, code: str, head: bool = False) -> int | None:
        return self.w.user(f"{code.lower()}-{'head' if head else 'staff'}")

    def worker(self, grid: str) -> int | None:
        return self.w.user(f"gw{grid}")

    # one case ----------------------------------------------------------------------------------------
    def plan(self, grid: str, urban: bool, created_at: datetime) -> CasePlan | None:
        rng = self.rng
        pool = URBAN if urban else RURAL
        code, _w, texts, outcomes = rng.choices(pool, weights=[p[1] for p in pool])[0]
        category = self.categories.get(code)
        if category is None:
            return None
        lead = self.w.route(category, grid)
        if lead is None:
            return None
        urgency = category.default_urgency
        if len(category.urgency_levels or []) > 1 and rng.random() < 0.08:
            urgency = rng.choice([u for u in category.urgency_levels if u != urgency])
        sources = [Source.GRID_WORKER, Source.PATROL, Source.VISIT, Source.HOTLINE, Source.WECHAT, Source.SMS,
                   Source.VIDEO]
        source = rng.choices(sources, weights=[40, 20, 8, 16, 6, 3, 4])[0]
        unit = self.w.unit_names.get(grid[:12], "")
        if urban:
            place = f"{rng.choice(names.URBAN_ROADS)}{rng.randint(1, 320)}号"
        else:
            place = f"{unit}{names.numeral(rng.randint(1, 12))}组"
        lon, lat = self.w.point(rng, grid)
        if source in (Source.HOTLINE, Source.SMS, Source.WECHAT):
            reporter, _role = self.desk(source, grid)
        elif source == Source.VIDEO:
            reporter = self.w.user(f"to{grid[:9]}-1")
        else:
            reporter = self.worker(grid)
        plan = CasePlan(grid=grid, category=category, urgency=urgency, source=source,
                        description=rng.choice(texts).format(place=place), address=place, lon=lon, lat=lat,
                        created_at=created_at, reporter=reporter)
        if source in (Source.HOTLINE, Source.SMS, Source.WECHAT):
            plan.reporter_name = names.person_name(rng)
            plan.reporter_phone = rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
            if source == Source.HOTLINE:
                plan.external_ref = f"12345-{_local(created_at):%Y%m%d}{rng.randint(1, 9999):04d}"
        self._path(plan, lead, rng.choice(outcomes))
        return plan

    def _step(self, plan: CasePlan, step: Step) -> bool:
        """Appends the step if it happened before now; False once the plan runs into the present."""
        if step.at > self.now:
            return False
        plan.steps.append(step)
        return True

    def _path(self, plan: CasePlan, lead: str, outcome: str) -> None:
        rng, cat = self.rng, plan.category
        t = plan.created_at
        urgent = plan.urgency != Urgency.NORMAL
        reporter_role = (Role.GRID_WORKER if plan.source in (Source.GRID_WORKER, Source.PATROL, Source.VISIT)
                         else Role.TOWN_OPERATOR if plan.source == Source.VIDEO else Role.CITY_OPERATOR)
        photo = reporter_role == Role.GRID_WORKER and rng.random() < 0.6
        plan.steps.append(Step("report", t, plan.reporter, reporter_role, CaseState.REPORTED,
                               plan.description[:200], {"source": plan.source, "grid": plan.grid}, photo=photo))
        desk, desk_role = self.desk(plan.source, plan.grid)
        worker = self.worker(plan.grid)

        # 自行处置: a worker's small fix, verified by the desk
        if (cat.self_resolvable and reporter_role == Role.GRID_WORKER and rng.random() < 0.45):
            plan.source = Source.SELF_RESOLVED
            plan.steps[0].data["source"] = Source.SELF_RESOLVED
            plan.steps[0].photo = True
            done = t + timedelta(minutes=rng.randint(1, 20))
            if not self._step(plan, Step("self_resolve", done, worker, Role.GRID_WORKER, CaseState.SELF_RESOLVED,
                                         rng.choice(["已现场处置完毕", "已劝导当事人当场整改", "已现场清理干净"]),
                                         photo=True)):
                return
            verify = _office(_working_after(done, rng.uniform(20, 300)), rng)
            if self._step(plan, Step("verify_pass", verify, desk, desk_role, CaseState.CLOSED, "",
                                     {"passed": True})):
                self._evaluate(plan, verify, desk, desk_role)
            return

        roll = rng.random()
        accept_at = _office(t + timedelta(minutes=rng.randint(3, 50)), rng, urgent=urgent)
        recent = self.now - t < timedelta(days=3)
        if roll < 0.01:  # a report forgotten on the desk: the accept stage runs out
            accept_at = _working_after(t, rng.uniform(240, 900))
        elif recent and rng.random() < 0.2:  # a busy desk: the report waits its turn
            accept_at = _working_after(t, rng.uniform(30, 600))
        if roll < 0.035 and roll >= 0.01:
            self._step(plan, Step("reject", accept_at, desk, desk_role, CaseState.REJECTED,
                                  rng.choice(REJECT_REASONS)))
            return
        if roll < 0.045 and roll >= 0.035:
            self._step(plan, Step("void", accept_at, desk, desk_role, CaseState.VOIDED, rng.choice(VOID_REASONS)))
            return
        if not self._step(plan, Step("accept", accept_at, desk, desk_role, CaseState.ACCEPTED)):
            return
        register_at = accept_at + timedelta(minutes=rng.randint(1, 25))
        if not self._step(plan, Step("register", register_at, desk, desk_role, CaseState.REGISTERED)):
            return
        at = register_at + timedelta(minutes=rng.randint(2, 40))
        redispatches = 0
        while True:
            helpers = []
            if not lead.startswith("GAJ-") and plan.grid[:9] not in ("420881001", "420881002") and rng.random() < 0.06:
                station = f"GAJ-{plan.grid[:9]}"
                if station in self.w.departments:
                    helpers = [station]
            if not self._step(plan, Step("dispatch", at, desk, desk_role, CaseState.DISPATCHED, "",
                                         {"lead": lead, "helpers": helpers, "redispatch": redispatches > 0,
                                          "suggested": lead, "overridden": False})):
                return
            for d in plan.dispatches:
                if d["ended_at"] is None:
                    d["ended_at"], d["end_reason"] = at, DispatchEnd.REDISPATCHED
            plan.dispatches.append({"department": lead, "role": DispatchRole.LEAD, "by": desk, "at": at,
                                    "ended_at": None, "end_reason": ""})
            plan.dispatches += [{"department": h, "role": DispatchRole.HELPER, "by": desk, "at": at,
                                 "ended_at": None, "end_reason": ""} for h in helpers]
            dispatched_at = at
            staff = self.dept_user(lead)
            limit = round(deadlines.limit_hours(cat, Stage.HANDLE, plan.urgency) * 60)
            deadline = workcal.add_working_time(dispatched_at, timedelta(minutes=limit))
            plan.handle_clock = (dispatched_at, limit)
            handle_at = _working_after(dispatched_at, min(limit * 0.2, rng.uniform(10, 120)))
            if redispatches == 0 and rng.random() < 0.05:  # 退回 then re-dispatch
                back = _working_after(dispatched_at, rng.uniform(20, 240))
                if not self._step(plan, Step("return", back, staff, Role.DEPT_STAFF, CaseState.RETURNED,
                                             rng.choice(RETURN_REASONS), {"department": lead})):
                    return
                for d in plan.dispatches:
                    if d["ended_at"] is None:
                        d["ended_at"], d["end_reason"] = back, DispatchEnd.RETURNED
                at = _office(back + timedelta(minutes=rng.randint(10, 120)), rng)
                redispatches += 1
                continue
            if not self._step(plan, Step("handle", handle_at, staff, Role.DEPT_STAFF, CaseState.HANDLING,
                                         rng.choice(["", "已签收，安排人员处置", "已签收"]))):
                return
            current = handle_at
            if rng.random() < 0.05:  # 延期: asked and (mostly) granted
                ask = _working_after(handle_at, limit * rng.uniform(0.3, 0.7))
                hours = rng.choice([8, 16, 24, 40])
                reason = rng.choice(EXTENSION_REASONS)
                if not self._step(plan, Step("extend_request", ask, staff, Role.DEPT_STAFF, None, reason,
                                             {"hours": hours})):
                    return
                ext = {"department": lead, "by": staff, "hours": hours, "reason": reason, "at": ask,
                       "status": ExtensionStatus.PENDING, "old": deadline}
                plan.extensions.append(ext)
                decide = _office(ask + timedelta(minutes=rng.randint(20, 240)), rng)
                grant = rng.random() < 0.85
                if decide > self.now:
                    return  # the request waits on the desk
                ext.update(status=ExtensionStatus.GRANTED if grant else ExtensionStatus.REFUSED, decided_by=desk,
                           decided_at=decide)
                data = {"hours": hours, "granted": grant}
                if grant:
                    deadline = workcal.add_working_time(deadline, timedelta(hours=hours))
                    ext["new"] = deadline
                    data["deadline"] = deadline.isoformat()
                    plan.handle_clock = (dispatched_at, plan.handle_clock[1] + hours * 60)
                self._step(plan, Step("extend_decide", decide, desk, desk_role, None,
                                      "同意" if grant else "请按原时限办结", data))
                current = decide
            if rng.random() < 0.02:  # 挂账, resumed weeks later (or still in the register)
                hang = _working_after(current, limit * rng.uniform(0.1, 0.4))
                reason = rng.choice(SUSPEND_REASONS)
                if not self._step(plan, Step("suspend", hang, desk, desk_role, CaseState.SUSPENDED, reason,
                                             {"expected_resume_on": None})):
                    return
                susp = {"from_state": CaseState.HANDLING, "reason": reason, "by": desk, "at": hang,
                        "resumed_at": None, "resumed_by": None}
                plan.suspensions.append(susp)
                resume = _office(hang + timedelta(days=rng.randint(7, 40)), rng)
                if not self._step(plan, Step("resume", resume, desk, desk_role, CaseState.HANDLING,
                                             "条件已具备，恢复办理")):
                    return
                susp.update(resumed_at=resume, resumed_by=desk)
                left = max(60, int(workcal.working_time_between(hang, deadline).total_seconds() // 60))
                deadline = workcal.add_working_time(resume, timedelta(minutes=left))
                plan.handle_clock = (resume, left)
                current = resume
            room = workcal.working_time_between(current, deadline).total_seconds() / 60
            slow_share = 0.2 if self.now - t < timedelta(days=14) else 0.09
            if rng.random() < slow_share or room < 10:  # a slow department
                done = _working_after(max(deadline, current), limit * rng.uniform(0.1, 1.6))
            else:
                done = _working_after(current, room * rng.uniform(0.15, 0.9))
            self._escalations(plan, Stage.HANDLE, deadline, limit, min(done, self.now))
            head = rng.random() < 0.2
            if not self._step(plan, Step("feedback", done, self.dept_user(lead, head),
                                         Role.DEPT_HEAD if head else Role.DEPT_STAFF,
                                         CaseState.AWAITING_VERIFICATION, outcome,
                                         photo=rng.random() < 0.5)):
                return
            feedback_at = done
            by_worker = rng.random() < 0.7 and worker is not None
            verifier, v_role = (worker, Role.GRID_WORKER) if by_worker else (desk, desk_role)
            verify_at = _office(feedback_at + timedelta(minutes=rng.randint(30, 600)), rng, urgent=by_worker)
            if redispatches < 2 and rng.random() < 0.03:
                if not self._step(plan, Step("verify_fail", verify_at, verifier, v_role, CaseState.REOPENED,
                                             rng.choice(FAIL_NOTES), {"passed": False})):
                    return
                at = _office(verify_at + timedelta(minutes=rng.randint(10, 180)), rng)
                redispatches += 1
                continue
            if not self._step(plan, Step("verify_pass", verify_at, verifier, v_role, CaseState.VERIFIED,
                                         "经现场核查，问题已解决" if by_worker else "", {"passed": True},
                                         photo=by_worker and rng.random() < 0.3)):
                return
            close_at = _office(verify_at + timedelta(minutes=rng.randint(5, 240)), rng)
            if self._step(plan, Step("close", close_at, desk, desk_role, CaseState.CLOSED)):
                self._evaluate(plan, close_at, desk, desk_role)
            return

    def _escalations(self, plan: CasePlan, stage: str, deadline: datetime, limit: int, until: datetime) -> None:
        """The sweep's escalation events for a stage that ran past its deadline before `until`."""
        first = deadline + SWEEP_DELAY
        if until < first:
            return
        level = EscalationLevel.TOWN if stage == Stage.HANDLE else EscalationLevel.CITY
        plan.steps.append(Step("escalate", first, None, "", None,
                               f"{Stage(stage).label}阶段超期，升级至{EscalationLevel(level).label}",
                               {"stage": stage, "deadline": deadline.isoformat(), "from_level": None, "level": level,
                                "overdue_minutes": int(SWEEP_DELAY.total_seconds() // 60)}))
        if level == EscalationLevel.TOWN:
            second = workcal.add_working_time(deadline, timedelta(minutes=limit)) + SWEEP_DELAY
            if second <= until:
                plan.steps.append(Step("escalate", second, None, "", None,
                                       f"{Stage(stage).label}阶段超期，升级至{EscalationLevel.CITY.label}",
                                       {"stage": stage, "deadline": deadline.isoformat(), "from_level": level,
                                        "level": EscalationLevel.CITY, "overdue_minutes": limit}))

    def _evaluate(self, plan: CasePlan, closed_at: datetime, desk: int, desk_role: str) -> None:
        rng = self.rng
        if rng.random() > 0.6:
            return
        at = closed_at + timedelta(minutes=rng.randint(10, 3 * 24 * 60))
        score = rng.choices([5, 4, 3, 2], weights=[62, 28, 8, 2])[0]
        comment = rng.choice(EVALUATION_COMMENTS)
        if self._step(plan, Step("evaluate", at, desk, desk_role, CaseState.EVALUATED, comment,
                                 {"score": score, "evaluator": EvaluatorKind.CENTRE})):
            plan.evaluations.append({"by": desk, "kind": EvaluatorKind.CENTRE, "score": score, "comment": comment,
                                     "at": at})


# --- writing ------------------------------------------------------------------------------------------

@dataclass
class Keys:
    """The primary keys and case numbers a batch of plans takes, handed out in memory, so that rows
    can be made without reading back what was written (and in another process: city/pipeline.py).

    `counters`: the last case number of each day, as CaseCounter holds it; `save()` writes the days
    that moved and moves the tables' sequences past the keys handed out.
    """

    case: int
    event: int
    counters: dict[date, int]
    moved: set[date] = field(default_factory=set)

    @classmethod
    def read(cls, days=None) -> "Keys":
        counters = CaseCounter.objects.all() if days is None else CaseCounter.objects.filter(day__in=days)
        return cls(case=(Case.objects.aggregate(m=Max("pk"))["m"] or 0) + 1,
                   event=(CaseEvent.objects.aggregate(m=Max("pk"))["m"] or 0) + 1,
                   counters=dict(counters.values_list("day", "last")))

    def numbers(self, plans: list[CasePlan]) -> list[str]:
        """YYYYMMDD + a daily serial after whatever the counters hold; the counters move on."""
        numbers = [""] * len(plans)
        for i in sorted(range(len(plans)), key=lambda i: plans[i].created_at):
            day = timezone.localdate(plans[i].created_at)
            n = self.counters.get(day, 0) + 1
            self.counters[day] = n
            self.moved.add(day)
            numbers[i] = f"{day:%Y%m%d}{n:05d}"
        return numbers

    def save(self) -> None:
        CaseCounter.objects.bulk_create([CaseCounter(day=d, last=self.counters[d]) for d in sorted(self.moved)],
                                        update_conflicts=True, unique_fields=["day"], update_fields=["last"],
                                        batch_size=BATCH)
        statements = connection.ops.sequence_reset_sql(no_style(), [Case, CaseEvent])
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _case_row(plan: CasePlan, number: str, world: World, now: datetime) -> Case:
    state, stage_start, fields = CaseState.REPORTED, plan.created_at, {}
    escalated, escalated_at = None, None
    for step in plan.steps:
        if step.action == "escalate":
            level = step.data["level"]
            if escalated is None or level < escalated:
                escalated, escalated_at = level, step.at
            continue
        if step.to_state is None:
            continue
        before = STAGE_OF_STATE.get(state)
        state = step.to_state
        if STAGE_OF_STATE.get(state) != before:
            stage_start = step.at
        key = {"accept": "accepted_at", "dispatch": "dispatched_at", "feedback": "feedback_at",
               "close": "closed_at"}.get(step.action)
        if key:
            fields[key] = step.at
        if step.action == "verify_pass" and state == CaseState.CLOSED:
            fields["closed_at"] = step.at
    lead = None
    active = [d for d in plan.dispatches if d["ended_at"] is None and d["role"] == DispatchRole.LEAD]
    if active:
        lead = world.departments[active[0]["department"]]
    case = Case(
        number=number, region_id=plan.grid, source=plan.source, category=plan.category, urgency=plan.urgency,
        description=plan.description, address=plan.address, lon=plan.lon, lat=plan.lat, reporter_id=plan.reporter,
        reporter_name=plan.reporter_name, reporter_phone=plan.reporter_phone,
        reporter_phone_index=blind_index(plan.reporter_phone, "case.reporter_phone") if plan.reporter_phone else "",
        external_ref=plan.external_ref, state=state, lead_department=lead, created_at=plan.created_at,
        self_resolved=plan.source == Source.SELF_RESOLVED, escalated_to_level=escalated, escalated_at=escalated_at,
        **fields,
    )
    stage = STAGE_OF_STATE.get(state, "")
    if state in OPEN_STATES and stage:
        if stage == Stage.HANDLE and plan.handle_clock is not None:
            start, minutes = plan.handle_clock
            clock = deadlines.clock(plan.category, stage, plan.urgency, start, minutes=minutes)
        else:
            clock = deadlines.clock(plan.category, stage, plan.urgency, stage_start)
        case.stage, case.stage_started_at, case.stage_limit_minutes = stage, clock.started_at, clock.limit_minutes
        case.stage_due_soon_at, case.stage_deadline = clock.due_soon_at, clock.deadline
        case.overdue = clock.deadline <= now
        case.due_soon = not case.overdue and clock.due_soon_at <= now
    return case


def _late_desk_stages(plans: list[CasePlan], planner: "Planner") -> None:
    """Open cases whose desk stage (accept, register, dispatch, verify, close) is already late carry
    the escalation the sweep would have written."""
    for plan in plans:
        state, start = CaseState.REPORTED, plan.created_at
        for step in sorted(plan.steps, key=lambda s: s.at):
            if step.to_state and STAGE_OF_STATE.get(step.to_state) != STAGE_OF_STATE.get(state):
                start = step.at
            state = step.to_state or state
        stage = STAGE_OF_STATE.get(state)
        if state not in OPEN_STATES or not stage or stage == Stage.HANDLE:
            continue
        clock = deadlines.clock(plan.category, stage, plan.urgency, start)
        if clock.deadline <= planner.now:
            planner._escalations(plan, stage, clock.deadline, clock.limit_minutes, planner.now)


CASE_FIELDS = [f.name for f in Case._meta.concrete_fields]
EVENT_FIELDS = ["id", "case", "actor", "actor_name", "actor_role", "action", "from_state", "to_state", "note", "data",
                "created_at"]
ATTACHMENT_FIELDS = ["case", "event", "kind", "file", "content_type", "size", "sha256", "original_name",
                     "uploaded_by", "created_at"]
DISPATCH_FIELDS = ["case", "department", "role", "is_active", "dispatched_by", "dispatched_at", "ended_at",
                   "end_reason"]
# The tables of a batch, in the order they are written (each row's references come first).
TABLES = [(Case, CASE_FIELDS), (CaseEvent, EVENT_FIELDS), (CaseAttachment, ATTACHMENT_FIELDS),
          (CaseDispatch, DISPATCH_FIELDS), (ExtensionRequest, None), (Suspension, None), (Evaluation, None)]


def _fields(model, names: list[str] | None) -> list[str]:
    return names or [f.name for f in model._meta.concrete_fields if not f.primary_key]


def _instance_rows(instances: list[models.Model]) -> list[tuple]:
    if not instances:
        return []
    attnames = [f.attname for f in instances[0]._meta.concrete_fields if not f.primary_key]
    return [tuple(getattr(obj, a) for a in attnames) for obj in instances]


def case_rows(plans: list[CasePlan], world: World, now: datetime, photos, keys: Keys) -> list[list[tuple]]:
    """The rows of `plans` for each of TABLES, with the keys and numbers `keys` hands out. Pure: no
    database, so it may run in another process."""
    numbers = keys.numbers(plans)
    cases = [_case_row(p, n, world, now) for p, n in zip(plans, numbers, strict=True)]
    for case in cases:
        case.pk, keys.case = keys.case, keys.case + 1
        case.updated_at = now
    for plan, case in zip(plans, cases, strict=True):
        if plan.duplicate_of is not None:
            case.duplicate_of_id = cases[plan.duplicate_of].pk
    attnames = [f.attname for f in Case._meta.concrete_fields]
    case_table = [tuple(getattr(c, a) for a in attnames) for c in cases]

    event_rows, attachment_rows = [], []
    rng = random.Random(sum(len(p.steps) for p in plans))
    for plan, case in zip(plans, cases, strict=True):
        state = ""
        extra = [Step("absorb", at, None, "", None, "", {"merged": cases[idx].pk, "number": cases[idx].number})
                 for idx, at in plan.absorbed]
        if plan.duplicate_of is not None:
            orig = cases[plan.duplicate_of]
            metres = _distance_m(plan.lon, plan.lat, orig.lon, orig.lat)
            extra.append(Step("flag_duplicate", plan.created_at, None, "", None,
                              f"疑似与案件 {orig.number} 重复（相距 {metres:.0f} 米）",
                              {"duplicate_of": orig.pk, "number": orig.number, "distance_m": round(metres, 1)}))
        for step in sorted(plan.steps + extra, key=lambda s: (s.at, s.action != "report")):
            if step.action == "merge":
                step.data = {"into": cases[plan.duplicate_of].pk, "number": cases[plan.duplicate_of].number}
            to_state = step.to_state if step.to_state is not None else state
            event_id, keys.event = keys.event, keys.event + 1
            event_rows.append((event_id, case.pk, step.actor, world.name(step.actor), step.role, step.action,
                               state if step.action != "report" else "", to_state, step.note, step.data, step.at))
            if step.photo:  # the photo hangs on its event
                name, size, digest = rng.choice(photos)
                attachment_rows.append((case.pk, event_id, AttachmentKind.PHOTO, name, "image/jpeg", size, digest,
                                        f"IMG_{_local(step.at):%Y%m%d_%H%M%S}.jpg", step.actor, step.at))
            state = to_state

    dispatches, extensions, suspensions, evaluations = [], [], [], []
    for plan, case in zip(plans, cases, strict=True):
        for d in plan.dispatches:
            dispatches.append((case.pk, world.departments[d["department"]].pk, d["role"], d["ended_at"] is None,
                               d["by"], d["at"], d["ended_at"], d["end_reason"]))
        for x in plan.extensions:
            extensions.append(ExtensionRequest(case_id=case.pk, department=world.departments[x["department"]],
                                               requested_by_id=x["by"], hours=x["hours"], reason=x["reason"],
                                               status=x["status"], decided_by_id=x.get("decided_by"),
                                               decided_at=x.get("decided_at"),
                                               decision_note="同意" if x["status"] == ExtensionStatus.GRANTED else "",
                                               old_deadline=x["old"], new_deadline=x.get("new"),
                                               created_at=x["at"]))
        for s in plan.suspensions:
            suspensions.append(Suspension(case_id=case.pk, from_state=s["from_state"], reason=s["reason"],
                                          suspended_by_id=s["by"], suspended_at=s["at"], resumed_by_id=s["resumed_by"],
                                          resumed_at=s["resumed_at"],
                                          resume_note="条件已具备，恢复办理" if s["resumed_at"] else ""))
        for v in plan.evaluations:
            evaluations.append(Evaluation(case_id=case.pk, evaluator_id=v["by"], evaluator_kind=v["kind"],
                                          score=v["score"], comment=v["comment"], created_at=v["at"]))
    return [case_table, event_rows, attachment_rows, dispatches, _instance_rows(extensions),
            _instance_rows(suspensions), _instance_rows(evaluations)]


def write_case_rows(tables: list[list[tuple]], *, prepared: bool = False) -> dict[str, int]:
    """Writes what `case_rows` made (`prepared`: each row already through `row_preparer`)."""
    for (model, columns), rows in zip(TABLES, tables, strict=True):
        fields = _fields(model, columns)
        insert_rows(model, fields, rows, prepared=fields if prepared else ())
    return {"cases": len(tables[0]), "case_events": len(tables[1]), "case_attachments": len(tables[2]),
            "case_dispatches": len(tables[3])}


def prepare_case_rows(tables: list[list[tuple]]) -> list[list]:
    """`case_rows`' rows made ready for the database, as `write_case_rows` would (for another process)."""
    out = []
    for (model, columns), rows in zip(TABLES, tables, strict=True):
        ready = row_preparer(model, _fields(model, columns))
        out.append([ready(r) for r in rows])
    return out


def _write(plans: list[CasePlan], world: World, now: datetime, photos) -> dict[str, int]:
    keys = Keys.read({timezone.localdate(p.created_at) for p in plans})
    counts = write_case_rows(case_rows(plans, world, now, photos, keys))
    keys.save()
    return counts


def _created_times(rng: random.Random, count: int, now: datetime, days: int) -> list[datetime]:
    """Report moments over the last `days` days: mostly daytime, fewer at weekends, more lately."""
    out = []
    start = now - timedelta(days=days)
    while len(out) < count:
        offset = rng.betavariate(1.3, 1.0) * days
        day = (start + timedelta(days=offset)).date()
        if not workcal.is_workday(day) and rng.random() < 0.45:
            continue
        minute = int(rng.triangular(6 * 60 + 30, 21 * 60, 10 * 60))
        at = timezone.make_aware(datetime.combine(day, time())) + timedelta(minutes=minute,
                                                                              seconds=rng.randint(0, 59))
        if at < now - timedelta(minutes=5):
            out.append(at)
    return sorted(out)


def _add_merged(plans: list[CasePlan], planner: Planner, rng: random.Random) -> None:
    """A few hotline calls about something a grid worker had already reported: merged into it."""
    candidates = [i for i, p in enumerate(plans)
                  if p.source in (Source.GRID_WORKER, Source.PATROL) and len(p.steps) >= 3]
    for idx in rng.sample(candidates, k=min(len(candidates), max(1, len(plans) // 150))):
        orig = plans[idx]
        at = orig.created_at + timedelta(minutes=rng.randint(15, 240))
        if at > planner.now:
            continue
        desk, desk_role = planner.w.user(f"city-{rng.randint(1, 2)}"), Role.CITY_OPERATOR
        dup = CasePlan(grid=orig.grid, category=orig.category, urgency=orig.urgency, source=Source.HOTLINE,
                       description="市民来电反映：" + orig.description, address=orig.address,
                       lon=round(orig.lon + rng.uniform(-0.0002, 0.0002), 7),
                       lat=round(orig.lat + rng.uniform(-0.0002, 0.0002), 7), created_at=at, reporter=desk,
                       reporter_name=names.person_name(rng),
                       reporter_phone=rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
                       external_ref=f"12345-{_local(at):%Y%m%d}{rng.randint(1, 9999):04d}", duplicate_of=idx)
        dup.steps.append(Step("report", at, desk, desk_role, CaseState.REPORTED, dup.description[:200],
                              {"source": Source.HOTLINE, "grid": dup.grid}))
        merge_at = at + timedelta(minutes=rng.randint(5, 60))
        if merge_at <= planner.now:
            dup.steps.append(Step("merge", merge_at, desk, desk_role, CaseState.MERGED, "与网格员已上报案件为同一问题"))
            orig.absorbed.append((len(plans), merge_at))
        plans.append(dup)


def seed_cases(*, seed: int = 2013, count: int = DEFAULT_CASES, days: int = DEFAULT_DAYS, now: datetime | None = None,
               story: bool = True, progress: Callable[[str], None] = lambda s: None) -> dict[str, int]:
    """Writes about `count` demo cases reported over the last `days` days, and the article's story.
    Call inside a transaction (seed_small does); needs the regions, departments and accounts."""
    now = now or timezone.now()
    rng = random.Random(seed * 7 + 4)
    world = World()
    categories = {c.code: c for c in CaseCategory.objects.filter(is_active=True).select_related("parent")}
    planner = Planner(world, rng, now, categories)
    grid_codes = sorted(world.grids)
    cum = list(accumulate(URBAN_WEIGHT if region_codes.is_urban(code) else 1.0 for code in grid_codes))
    plans = []
    for at in _created_times(rng, count, now, days):
        grid = rng.choices(grid_codes, cum_weights=cum)[0]
        plan = planner.plan(grid, region_codes.is_urban(grid), at)
        if plan is not None:
            plans.append(plan)
    _add_merged(plans, planner, rng)
    _late_desk_stages(plans, planner)
    progress(f"演示案件已生成：{len(plans):,} 件")
    counts = _write(plans, world, now, demo_photos())
    progress(f"演示案件已写入：{counts['cases']:,} 件，流转记录 {counts['case_events']:,} 条")
    if story:
        case = seed_article_story()
        counts["story_case"] = case.pk if case else 0
    states = {}
    for plan in plans:
        final = [s.to_state for s in plan.steps if s.to_state]
        states[final[-1]] = states.get(final[-1], 0) + 1
    audit_record(actor=None, action="demo.seed_cases", object_type="cases.case", object_id=COUNTY_CODE,
                 region_code=COUNTY_CODE, changes={"seed": seed, "days": days, **counts, "states": states},
                 message=f"生成演示案件：{counts['cases']:,} 件（近 {days} 天），流转记录 {counts['case_events']:,} 条")
    return counts


# --- the article's story ------------------------------------------------------------------------------

def _at(day: date, hh: int, mm: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hh, mm)))


def story_case() -> Case | None:
    """The story's case if it has been seeded."""
    return (Case.objects.filter(prefix_q("region_id", YUANTAI), category__code=STORY_CATEGORY,
                                created_at__date=STORY_DAY, source=Source.PATROL).order_by("id").first())


def seed_article_story() -> Case | None:
    """The 2018 burglary at 胡某's empty house in 袁台村, told through the services (see the module
    docstring). Returns the case, or None when the village or its people are missing."""
    existing = story_case()
    if existing is not None:
        return existing
    from gridgov.people.models import Resident

    hu = (Resident.objects.filter(prefix_q("region_id", YUANTAI), name="胡某")
          .select_related("address", "household__address").order_by("id").first())
    if hu is not None:
        grid = Region.objects.get(code=hu.region_id)
        address = hu.household.address if hu.household_id and hu.household.address_id else hu.address
    else:
        grid = Region.objects.filter(level=4, code__startswith=YUANTAI).order_by("code").first()
        address = None
    if grid is None:
        return None
    worker = User.objects.filter(assignments__role=Role.GRID_WORKER, assignments__region_id=grid.code,
                                 assignments__is_active=True).first()
    desk = User.objects.filter(username=f"to{HUJI}-1").first()
    station_code = f"GAJ-{HUJI}"
    police = User.objects.filter(username=f"{station_code.lower()}-staff").first()
    police_head = User.objects.filter(username=f"{station_code.lower()}-head").first()
    wei = (User.objects.filter(full_name="魏林", assignments__role=Role.GRID_ADMIN,
                               assignments__region_id=YUANTAI).first()
           or User.objects.filter(assignments__role=Role.GRID_ADMIN, assignments__region_id=YUANTAI).first())
    if not all([worker, desk, police, police_head, wei]):
        return None
    lon, lat = grid.centroid_lon, grid.centroid_lat
    if address is not None and address.lon is not None:
        located = routing.locate(address.lon, address.lat)
        if located is not None and located.code == grid.code:
            lon, lat = address.lon, address.lat
    place = address.short_text if address is not None else grid.name
    owner = "胡某" if hu is not None else "一户村民"
    day = STORY_DAY
    photo = ContentFile(_jpeg((150, 140, 125), (60, 60, 70), 2018), name="IMG_20180416_091502.jpg")

    clock = {"now": _at(day, 9, 20)}
    with mock.patch.object(common, "now", lambda: clock["now"]), transaction.atomic():
        case = services.case_report(
            acting_user=worker, category=STORY_CATEGORY, source=Source.PATROL, lon=lon, lat=lat, address=place,
            description=(f"巡查发现{place}{owner}家（户主长期在外务工，房屋无人居住）空调室外机被盗，"
                         "外墙留有拆卸痕迹，铜管被剪断。已电话告知户主，并报告村委会和派出所。"),
            files=[photo])
        clock["now"] = _at(day, 9, 32)
        services.case_accept(acting_user=desk, case=case, note="已受理，请派出所出警勘查")
        clock["now"] = _at(day, 9, 34)
        services.case_register(acting_user=desk, case=case)
        clock["now"] = _at(day, 9, 38)
        services.case_dispatch(acting_user=desk, case=case, department=station_code,
                               note="入室盗窃线索，请胡集派出所出警，网管员配合调取视频")
        clock["now"] = _at(day, 10, 5)
        services.case_handle(acting_user=police, case=case, note="已签收，民警已出警到现场勘查")
        case.refresh_from_db()
        clock["now"] = _at(day, 10, 40)
        services.case_note(acting_user=wei, case=case, kind="video_review",
                           note="网管员魏林查看袁台村村口和主干道网格化视频监控：4月15日凌晨2时许一辆白色面包车进出村，"
                                "车上装有空调外机，已截取画面提供派出所",
                           data={"cameras": ["袁台村村口", "袁台村主干道"], "window": "2018-04-15 00:00/05:00"})
        clock["now"] = _at(day + timedelta(days=4), 16, 10)  # Friday 20 April
        services.case_feedback(acting_user=police_head, case=case,
                               note="经视频线索和走访摸排，锁定犯罪嫌疑人张某（男，32岁），4月20日将其抓获归案，"
                                    "追回被盗空调室外机一台，已通知户主。案件移送审查起诉。")
        clock["now"] = _at(day + timedelta(days=7), 9, 15)  # Monday 23 April
        services.case_verify(acting_user=worker, case=case, passed=True,
                             note="已回访户主，空调外机已追回并重新安装，户主表示满意")
        clock["now"] = _at(day + timedelta(days=7), 10, 0)
        services.case_close(acting_user=desk, case=case, note="嫌疑人一周内抓获归案，结案")
        clock["now"] = _at(day + timedelta(days=7), 10, 5)
        services.case_evaluate(acting_user=desk, case=case, score=5,
                               comment="网格员巡查发现及时，视频监控与派出所联动，一周内破案（人防、技防、联防）")
        clock["now"] = _at(day + timedelta(days=7), 11, 30)
        services.case_evaluate(acting_user=worker, case=case, score=5, comment="派出所处置迅速")
        # the upload was stamped with the seeding moment: date it with the report
        CaseAttachment.objects.filter(case=case).update(created_at=case.created_at)
    case.refresh_from_db()
    return case

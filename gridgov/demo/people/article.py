"""The households the newspaper article tells of (shared/reference): 李春艳 in 湖山村, 胡某 in 袁台村,
王必俊 in 钟堰村, 吴正宪 and the 姚 family in 百井村."""

from datetime import date

from gridgov.people.choices import Occupancy, PoliticalStatus

from .. import names
from .base import (
    ARTICLE_VILLAGES,
    AWAY,
    CHILD,
    CHILD_IN_LAW,
    FEMALE,
    GRANDCHILD,
    HEAD,
    MALE,
    PARENT,
    PERMANENT,
    SPOUSE,
    GridInfo,
    HouseholdPlan,
    PersonPlan,
    TagPlan,
)


def _person(rel: str, gender: str, age: int, gen: int, name: str, **kw) -> PersonPlan:
    return PersonPlan(rel, gender, age, gen, name=name, **kw)


def article_households(grids: dict[str, GridInfo]) -> dict[str, list[HouseholdPlan]]:
    """The households the article tells of, by grid, before names, numbers and places are filled in."""
    hushan, yuantai, baijing, zhongyan = (f"{v}001" for v in ARTICLE_VILLAGES)
    out: dict[str, list[HouseholdPlan]] = {}

    def hh(grid: str, members: list[PersonPlan], **kw) -> HouseholdPlan:
        for i, p in enumerate(members):
            if p.relation == SPOUSE:
                p.spouse, members[0].spouse = 0, i
        plan = HouseholdPlan(grid, "", members, article=True, **kw)
        out.setdefault(grid, []).append(plan)
        return plan

    # 胡集镇湖山村: 李春艳, in hospital with a mental disorder; her family did not know of 以奖代补.
    li = _person(SPOUSE, FEMALE, 46, 0, "李春艳", occupation="无", health_note="精神分裂症，住院治疗中")
    li.tags.append(TagPlan("severe_mental_disorder", {"risk_level": 3, "in_hospital": True, "diagnosis": "精神分裂症",
                                                      "reward_subsidy": False}, date(2019, 6, 12)))
    hh(hushan, [_person(HEAD, MALE, 49, 0, "周国平", occupation="务农"), li,
                _person(CHILD, FEMALE, 15, 1, "周晓雨"), _person(PARENT, FEMALE, 74, -1, "陈桂英", occupation="无")])
    # 胡集镇袁台村: 胡某 works away for years; his empty house was burgled (2018).
    hh(yuantai, [_person(HEAD, MALE, 47, 0, "胡某", residency=AWAY, workplace="广东东莞", occupation="广东东莞务工"),
                 _person(SPOUSE, FEMALE, 45, 0, "刘秀梅", residency=AWAY, workplace="广东东莞",
                         occupation="广东东莞务工")],
       occupancy=Occupancy.VACANT.value, house_note="户主长期外出务工，房屋无人居住；2018年4月空调被盗，已破案")
    # 石牌镇钟堰村: 王必俊, stomach cancer, twice in hospital; 临时救助 through the platform.
    wang = _person(HEAD, MALE, 58, 0, "王必俊", occupation="务农", health_note="胃癌，先后两次住院治疗")
    wang.tags += [TagPlan("serious_illness", {"illness": "胃癌", "in_hospital": False}, date(2018, 9, 3)),
                  TagPlan("dibao_marginal", {}, date(2019, 3, 20))]
    wife = _person(SPOUSE, FEMALE, 55, 0, "张桂芳", occupation="务农")
    wife.tags.append(TagPlan("dibao_marginal", {}, date(2019, 3, 20)))
    hh(zhongyan, [wang, wife])
    # 冷水镇百井村: 吴正宪 takes his grandson and the 姚 children to school.
    hh(baijing, [_person(HEAD, MALE, 68, 0, "吴正宪", occupation="务农", political=PoliticalStatus.PARTY_MEMBER.value),
                 _person(SPOUSE, FEMALE, 66, 0, "郑秀兰", occupation="务农"),
                 _person(CHILD, MALE, 40, 1, "吴建军", residency=AWAY, workplace="浙江温州", occupation="浙江温州务工"),
                 _person(CHILD_IN_LAW, FEMALE, 38, 1, "黄丽华", residency=AWAY, workplace="浙江温州",
                         occupation="浙江温州务工"),
                 _person(GRANDCHILD, MALE, 9, 2, "吴浩宇", occupation="在校学生")])
    out[baijing][-1].members[2].spouse, out[baijing][-1].members[3].spouse = 3, 2
    # The 姚 household came from 云南 to join relatives: many mouths, little income, two pupils.
    yao = [_person(HEAD, MALE, 41, 0, "姚宣立", occupation="村内零工"),
           _person(SPOUSE, FEMALE, 37, 0, "罗春梅", occupation="务农"),
           _person(CHILD, MALE, 10, 1, "姚俊熙", occupation="在校学生"),
           _person(CHILD, FEMALE, 8, 1, "姚欣怡", occupation="在校学生"),
           _person(PARENT, MALE, 69, -1, "姚德明", occupation="无"),
           _person(PARENT, FEMALE, 66, -1, "陈翠兰", occupation="无")]
    since = date(2020, 11, 5)
    for p in yao:
        p.residency = PERMANENT
        p.tags.append(TagPlan("dibao_marginal", {}, since))
    hh(baijing, yao, id_region=names.YUNNAN_ZHENXIONG[0], occupancy=Occupancy.BORROWED.value,
       registered_address=f"{names.YUNNAN_ZHENXIONG[1]}以勒镇青杠村五组17号")
    return out

"""政策找人: rules validated when saved, evaluated without eval, matched per grid, listed with least sight."""

import json
from datetime import date

import pytest

from gridgov.accounts.choices import Role
from gridgov.core.errors import ApplicationError
from gridgov.core.models import AuditEntry
from gridgov.egov import rules, selectors, services
from gridgov.egov.models import EligibilityMatch, ServiceItem

from . import factories as f

pytestmark = pytest.mark.django_db

DATA = __import__("pathlib").Path(rules.__file__).parent / "data" / "catalogue.json"


def test_the_catalogue_has_93_items_in_3_categories_with_valid_rules(db):
    items = ServiceItem.objects.all()
    assert items.count() == 93
    assert set(items.values_list("category", flat=True)) == {"public_service", "administrative_approval",
                                                             "social_security"}
    names = set(items.values_list("name", flat=True))
    for name in ("临时救助", "最低生活保障申请", "特困人员救助供养", "残疾人两项补贴", "严重精神障碍患者监护以奖代补",
                 "高龄津贴", "城乡居民医保参保", "城乡居民基本养老保险参保登记", "生育登记", "户籍证明",
                 "农村建房审批"):
        assert name in names
    from gridgov.accounts.models import Department

    departments = set(Department.objects.values_list("code", flat=True))
    vocab = rules.vocabulary()
    for item in items:
        assert item.department_code in departments, item
        assert item.materials and item.steps and item.questions and item.legal_basis and item.acceptance_level
        assert any(m["required"] for m in item.materials)
        if item.eligibility_rule is not None:
            assert rules.validate_rule(item.eligibility_rule, vocab).sensitivity == item.rule_sensitivity
    assert json.loads(DATA.read_text("utf-8"))[5]["name"] == "严重精神障碍患者监护以奖代补"


@pytest.mark.parametrize("rule, fragment", [
    ({">=": [{"var": "agee"}, 80]}, "未知变量“agee”"),
    ({"eval": "__import__('os')"}, "不支持的运算符“eval”"),
    ({"today": []}, "不支持的运算符“today”"),
    ({"in": ["dibaoo", {"var": "tags"}]}, "未知的关爱对象标签“dibaoo”"),
    ({"==": [{"var": "gender"}, "man"]}, "没有取值“man”"),
    ({">=": [{"var": "age"}, "eighty"]}, "是数字"),
    ({">=": [{"var": "severe_mental_disorder.grade"}, 3]}, "未知变量"),
    ({"in": [{"var": "disabled.grade"}, ["一级", "五级"]]}, "没有取值“五级”"),
    ({">=": [1, 2]}, "没有用到任何居民信息"),
    ([{"var": "age"}], "JSON Logic 条件对象"),
    ({"and": [{"var": "age"}], "or": []}, "只能有一个运算符"),
])
def test_invalid_rules_are_refused_when_saved(rule, fragment):
    city = f.user(Role.CITY_OPERATOR, f.COUNTY)
    item = ServiceItem.objects.get(code=f.OLD_AGE)
    before = (item.eligibility_rule, AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as exc:
        services.service_item_update(acting_user=city, code=item.code, data={"eligibility_rule": rule})
    assert exc.value.status == 400 and exc.value.code == "invalid_rule", exc.value.message
    assert fragment in exc.value.message and exc.value.message.startswith("资格规则有误")
    item.refresh_from_db()
    assert (item.eligibility_rule, AuditEntry.objects.count()) == before


def test_a_valid_rule_is_saved_with_the_sensitivity_of_its_tags():
    city = f.user(Role.CITY_OPERATOR, f.COUNTY)
    rule = {"and": [{">=": [{"var": "age"}, 60]}, {"in": ["severe_mental_disorder", {"var": "tags"}]}]}
    item = services.service_item_update(acting_user=city, code=f.TEMP_AID, data={"eligibility_rule": rule})
    assert item.eligibility_rule == rule and item.rule_sensitivity == 3
    item = services.service_item_update(acting_user=city, code=f.TEMP_AID, data={"eligibility_rule": None})
    assert item.eligibility_rule is None and item.rule_sensitivity == 1
    with pytest.raises(ApplicationError) as exc:
        services.service_item_update(acting_user=f.user(Role.GRID_ADMIN, f.HUSHAN), code=f.TEMP_AID,
                                     data={"eligibility_rule": rule})
    assert exc.value.status == 403


def test_rules_evaluate_on_facts():
    today = date(2026, 3, 1)
    old = rules.facts(birth_date=date(1945, 3, 2), gender="female", residency_status="registered", tags={},
                      today=today)
    assert old["age"] == 80
    assert rules.evaluate({">=": [{"var": "age"}, 80]}, old)
    young = rules.facts(birth_date=date(1946, 3, 2), gender="female", residency_status="registered", tags={},
                        today=today)
    assert not rules.evaluate({">=": [{"var": "age"}, 80]}, young)
    reward = {">=": [{"var": "severe_mental_disorder.risk_level"}, 3]}
    patient = rules.facts(birth_date=None, gender="female", residency_status="registered",
                          tags={"severe_mental_disorder": {"risk_level": 3}}, today=today)
    assert rules.evaluate(reward, patient) and "age" not in patient
    assert not rules.evaluate(reward, {**patient, "severe_mental_disorder": {"risk_level": 2}})
    assert not rules.evaluate(reward, young)  # no tag: the variable is missing, the comparison false
    assert not rules.evaluate({">=": [{"var": "age"}, 80]}, patient)  # unknown age matches nobody
    # Odd data does not stop a batch: a failing rule is simply no match.
    assert not rules.evaluate({"/": [{"var": "age"}, 0]}, old)


def _scan(grid_code: str):
    return services.eligibility_scan_grid(grid_code=grid_code, today=date(2026, 3, 1))


def test_matching_finds_the_entitled_who_have_not_applied(db):
    grid = f.grid(n=3)
    li = f.resident(grid, name="李春艳", gender="female", birth=date(1978, 5, 6))
    f.tag(li, "severe_mental_disorder", risk_level=3, in_hospital=True)
    calm = f.resident(grid, birth=date(1980, 1, 1))
    f.tag(calm, "severe_mental_disorder", risk_level=2)
    elder = f.resident(grid, birth=date(1940, 1, 1))
    former = f.resident(grid, birth=date(1975, 1, 1))
    f.tag(former, "severe_mental_disorder", risk_level=4, ended_on=date(2025, 12, 1))
    scan = _scan(grid)
    assert scan.residents >= 4 and scan.rules >= 15
    found = set(EligibilityMatch.objects.filter(region_id=grid, resident__in=[li, calm, elder, former])
                .values_list("resident__name", "item__code"))
    assert ("李春艳", f.REWARD) in found and (elder.name, f.OLD_AGE) in found
    assert not any(r == calm.name and i == f.REWARD for r, i in found)
    assert not any(r == former.name and i == f.REWARD for r, i in found)
    worker = f.user(Role.GRID_WORKER, grid)
    listed = {(m.resident_id, m.item.code) for m in selectors.match_list(user=worker)}
    assert (li.pk, f.REWARD) in listed and (elder.pk, f.OLD_AGE) in listed
    # Least sight: the village administrator may not see mental-health tags, so not that match either.
    admin = f.user(Role.GRID_ADMIN, f.HUSHAN)
    admin_listed = {(m.resident_id, m.item.code) for m in selectors.match_list(user=admin, region=grid)}
    assert (elder.pk, f.OLD_AGE) in admin_listed and (li.pk, f.REWARD) not in admin_listed
    # Applying takes her off the list; a refusal keeps her off; a withdrawal puts her back.
    flow = f.Flow(f.REWARD, person=li)
    flow.start(by=worker, found_by_match=True)
    assert (li.pk, f.REWARD) not in {(m.resident_id, m.item.code) for m in selectors.match_list(user=worker)}
    services.application_withdraw(acting_user=worker, application_id=flow.app.pk, reason="家属暂不申请")
    assert (li.pk, f.REWARD) in {(m.resident_id, m.item.code) for m in selectors.match_list(user=worker)}
    flow.run_to("dept_decide")
    services.application_refuse(acting_user=flow.head, application_id=flow.app.pk, reason="监护责任未落实")
    assert (li.pk, f.REWARD) not in {(m.resident_id, m.item.code) for m in selectors.match_list(user=worker)}
    # Other grids' workers do not see this grid.
    with pytest.raises(ApplicationError) as exc:
        selectors.match_list(user=f.user(Role.GRID_WORKER, f.grid(n=1)), region=grid)
    assert exc.value.status == 404


def test_a_rescan_drops_matches_that_no_longer_hold(db):
    grid = f.grid(n=2)
    person = f.resident(grid)
    t = f.tag(person, "dibao_marginal")
    _scan(grid)
    assert EligibilityMatch.objects.filter(resident=person, item__code="SB002").exists()
    t.ended_on = date(2026, 2, 1)
    t.save()
    _scan(grid)
    assert not EligibilityMatch.objects.filter(resident=person, item__code="SB002").exists()
    audit = AuditEntry.objects.filter(action="egov.match.scan", region_code=grid).first()
    assert audit is not None and "attributes" not in json.dumps(audit.changes)


def test_the_nightly_command_scans_every_grid_of_a_region(db):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    grid = f.grid(n=3)
    person = f.resident(grid, birth=date(1930, 1, 1))
    out = StringIO()
    call_command("egov_match", region=f.HUSHAN, date="2026-03-01", stdout=out)
    assert "完成" in out.getvalue()
    assert EligibilityMatch.objects.filter(resident=person, item__code=f.OLD_AGE).exists()
    with pytest.raises(CommandError):
        call_command("egov_match", region="12ab")

"""The notice of purpose and legal basis (PIPL art. 17) shown where personal data is collected.

One text per collection point, kept here so the forms cannot drift apart."""

from dataclasses import dataclass

from django.conf import settings

# How long, per kind of record ({years}: PERSONAL_DATA_RETENTION_DAYS in years; privacy/retention.py, sweeps.py).
KEPT_REGISTER = "在册期间保存；迁出、死亡后保存 {years} 年后删除（依法须保存的除外）"
KEPT_REPORT = "问题办结后保存 {years} 年，届满删除您的姓名和手机号，问题记录作统计保留（依法须保存的除外）"


@dataclass(frozen=True)
class PurposeNotice:
    purpose: str
    basis: str
    collected: str
    kept: str = KEPT_REGISTER


# Government bodies process under PIPL art. 13(1)(3) (履行法定职责所必需) within art. 34 (法定职责范围内);
# residents who report of their own accord do so under art. 13(1)(1) (同意), which they may withdraw.
DUTY = "《个人信息保护法》第十三条第一款第三项（履行法定职责所必需）、第三十四条"
NOTICES = {
    "resident": PurposeNotice(
        collected="姓名、公民身份号码、联系电话、健康状况等",
        purpose="实有人口登记、网格走访和关爱服务、政务服务办理",
        basis=DUTY,
    ),
    "report": PurposeNotice(
        collected="手机号、问题描述、照片和位置",
        purpose="受理、办理并回复您反映的问题或申报的积分",
        basis="《个人信息保护法》第十三条第一款第一项（您的同意，提交即表示同意，可随时撤回）及第三项（履行法定职责所必需）",
        kept=KEPT_REPORT,
    ),
    "hotline": PurposeNotice(
        collected="来电号码、姓名和反映内容",
        purpose="受理、转办并回访来电反映的问题",
        basis=DUTY + "；请在通话开始时告知来电人",
        kept=KEPT_REPORT,
    ),
    "login": PurposeNotice(
        collected="手机号",
        purpose="发送验证码、确认您是登记的居民，以便查询本户积分、办事和反映的问题",
        basis="《个人信息保护法》第十三条第一款第一项（您的同意）",
        kept="验证码和登录记录保存 30 天后删除；登录情况按网络安全规定记入审计日志",
    ),
    # The grid worker's phone app (网格通): one notice per collection screen, in the cached shell.
    "visit": PurposeNotice(
        collected="走访对象的家庭和健康情况、走访记录、现场照片和位置",
        purpose="网格走访、关爱服务和需求转办",
        basis=DUTY + "；请向走访对象说明",
    ),
    "case": PurposeNotice(
        collected="问题描述、现场照片和位置（尽量不拍摄、不记录无关人员）",
        purpose="事件受理、派遣、处置和核查",
        basis=DUTY,
        kept="案件作为办理记录保存；照片和描述中的个人信息仅限办理所必需",
    ),
    "claim": PurposeNotice(
        collected="积分对象、事实经过和证明照片",
        purpose="积分核实、公示和兑换",
        basis="《个人信息保护法》第十三条第一款第一项（积分对象的同意）及第三项（履行法定职责所必需）",
        kept="积分记录作为公示和兑换依据保存；证明照片在积分对象迁出、死亡后保存 {years} 年后删除",
    ),
    "application": PurposeNotice(
        collected="申请人身份、家庭和收入等申报信息及申请材料",
        purpose="代办政务服务事项的受理、审核和发放",
        basis=DUTY + "；请向申请人说明",
        kept="申请作为公共资金记录保存；申请材料文件在申请人迁出、死亡后保存 {years} 年后删除（办理中的除外）",
    ),
    "import": PurposeNotice(
        collected="表格中的姓名、公民身份号码、联系电话、家庭关系和关爱标签等",
        purpose="实有人口登记、网格走访和关爱服务",
        basis=DUTY + "；只导入来源合法、登记所必需的列",
    ),
}


def notice_for(kind: str) -> dict:
    notice = NOTICES[kind]
    years = settings.PERSONAL_DATA_RETENTION_DAYS / 365
    return {"notice": notice, "kind": kind, "retention_years": f"{years:g}",
            "kept": notice.kept.format(years=f"{years:g}")}

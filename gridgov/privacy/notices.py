"""The notice of purpose and legal basis (PIPL art. 17) shown where personal data is collected.

One text per collection point, kept here so the forms cannot drift apart."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class PurposeNotice:
    purpose: str
    basis: str
    collected: str


# Government bodies process under PIPL art. 13(1)(3) (履行法定职责所必需) within art. 34 (法定职责范围内);
# residents who report of their own accord do so under art. 13(1)(1) (同意), which they may withdraw.
NOTICES = {
    "resident": PurposeNotice(
        collected="姓名、公民身份号码、联系电话、健康状况等",
        purpose="实有人口登记、网格走访和关爱服务、政务服务办理",
        basis="《个人信息保护法》第十三条第一款第三项（履行法定职责所必需）、第三十四条",
    ),
    "report": PurposeNotice(
        collected="手机号、问题描述、照片和位置",
        purpose="受理、办理并回复您反映的问题或申报的积分",
        basis="《个人信息保护法》第十三条第一款第一项（您的同意，提交即表示同意，可随时撤回）及第三项（履行法定职责所必需）",
    ),
    "hotline": PurposeNotice(
        collected="来电号码、姓名和反映内容",
        purpose="受理、转办并回访来电反映的问题",
        basis="《个人信息保护法》第十三条第一款第三项（履行法定职责所必需）、第三十四条；请在通话开始时告知来电人",
    ),
    "login": PurposeNotice(
        collected="手机号",
        purpose="发送验证码、确认您是登记的居民，以便查询本户积分、办事和反映的问题",
        basis="《个人信息保护法》第十三条第一款第一项（您的同意）",
    ),
}


def notice_for(kind: str) -> dict:
    notice = NOTICES[kind]
    years = settings.PERSONAL_DATA_RETENTION_DAYS / 365
    return {"notice": notice, "kind": kind, "retention_years": f"{years:g}"}

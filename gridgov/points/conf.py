"""The scheme's defaults, overridable in Django settings and per town or village (PointsScheme rows).

POINTS_COLLECTIVE_THRESHOLD  awards (and deductions) above this many points need the committee (100)
POINTS_COMMITTEE_QUORUM      distinct committee members who must approve such a claim (3)
POINTS_HOUSEHOLD_ROLLUP      a member's points also count towards the household's score (True)
POINTS_NOTICE_FULL_NAMES     the public notice board shows full names (True) or 李*艳 (False)
POINTS_NOTICE_DAYS           how many days of awards the notice board shows (30)
POINTS_VERIFY_BASE_URL       absolute base for the QR on certificates, e.g. "https://wg.zhongxiang.gov.cn"
                             (default: the address the certificate was requested at)
"""

from django.conf import settings

DEFAULTS = {
    "POINTS_COLLECTIVE_THRESHOLD": 100,
    "POINTS_COMMITTEE_QUORUM": 3,
    "POINTS_HOUSEHOLD_ROLLUP": True,
    "POINTS_NOTICE_FULL_NAMES": True,
    "POINTS_NOTICE_DAYS": 30,
    "POINTS_VERIFY_BASE_URL": "",
}


def setting(name: str):
    return getattr(settings, name, DEFAULTS[name])

"""Cases per town and state, kept by database triggers (migration 0006), for the desk's counts.

Counting 500,000 cases per state for the county-wide desk is a sequential scan on PostgreSQL; the
desk instead sums at most 18 towns × 16 states of this table. Triggers (not the services) keep it, so
bulk loads, the demo seed and any future writer stay consistent; `rebuild_case_counts` recomputes it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseCount(models.Model):
    town_code = models.CharField(_("镇街代码"), max_length=9)
    state = models.CharField(_("状态"), max_length=24)
    n = models.BigIntegerField(_("案件数"), default=0)

    class Meta:
        app_label = "cases"
        verbose_name = _("案件数（按镇街、状态）")
        verbose_name_plural = verbose_name
        constraints = [models.UniqueConstraint(fields=["town_code", "state"], name="casecount_town_state_uniq")]

    def __str__(self) -> str:
        return f"{self.town_code} {self.state}: {self.n}"

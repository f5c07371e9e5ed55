"""`gridgov verify_points_ledger`: balances == sums of the ledger, stocks == sums of stock movements.

Exits 0 when everything agrees; lists every mismatch and exits 1 otherwise (for cron/monitoring).
"""

from django.core.management.base import BaseCommand, CommandError

from gridgov.points.ledger_check import check_ledger


class Command(BaseCommand):
    help = "核对积分余额是否等于台账合计、物品库存是否等于库存变动合计；有差异时列出并以非零状态退出。"

    def handle(self, *args, **options):
        mismatches, balances, goods = check_ledger()
        if mismatches:
            for m in mismatches:
                self.stdout.write(m.describe())
            raise CommandError(f"发现 {len(mismatches)} 处不一致（共核对 {balances} 个积分账户、{goods} 种物品）",
                               returncode=1)
        self.stdout.write(f"核对通过：{balances} 个积分账户的余额等于台账合计，{goods} 种物品的库存等于库存变动合计。")

"""Does every balance equal the sum of its ledger, and every stock the sum of its movements?"""

from dataclasses import dataclass

from django.db.models import Q, Sum

from .choices import SPEND_KINDS
from .models import Balance, Goods, LedgerEntry, StockMovement, Subject


@dataclass(frozen=True)
class Mismatch:
    what: str  # balance, stock, missing_balance
    id: int
    name: str
    expected: dict
    actual: dict

    def describe(self) -> str:
        diffs = "，".join(f"{k} 应为 {self.expected[k]}，实为 {self.actual.get(k)}" for k in self.expected
                         if self.expected[k] != self.actual.get(k))
        label = {"balance": "积分账户", "stock": "物品库存", "missing_balance": "积分账户缺少余额行"}[self.what]
        return f"{label} #{self.id} {self.name}：{diffs}"


def check_ledger() -> tuple[list[Mismatch], int, int]:
    """(mismatches, balances checked, goods checked). Two grouped queries per table, whatever the size."""
    sums = {
        row["subject_id"]: row
        for row in LedgerEntry.objects.values("subject_id").annotate(
            spendable=Sum("delta"), earned=Sum("score_delta"), spent=Sum("delta", filter=Q(kind__in=SPEND_KINDS)),
        ).order_by()
    }
    names = dict(Subject.objects.values_list("pk", "name"))
    out: list[Mismatch] = []
    seen = set()
    balances = 0
    for b in Balance.objects.values("subject_id", "earned", "spent", "spendable").iterator(chunk_size=5000):
        balances += 1
        seen.add(b["subject_id"])
        row = sums.get(b["subject_id"], {})
        expected = {"earned": row.get("earned") or 0, "spent": -(row.get("spent") or 0),
                    "spendable": row.get("spendable") or 0}
        actual = {k: b[k] for k in expected}
        if expected != actual:
            out.append(Mismatch("balance", b["subject_id"], names.get(b["subject_id"], ""), expected, actual))
    for subject_id in sorted(set(names) - seen):
        out.append(Mismatch("missing_balance", subject_id, names[subject_id], {"row": True}, {"row": False}))
    moved = {row["goods_id"]: row["s"] or 0
             for row in StockMovement.objects.values("goods_id").annotate(s=Sum("delta")).order_by()}
    goods = 0
    for g in Goods.objects.values("pk", "name", "stock").iterator(chunk_size=5000):
        goods += 1
        if moved.get(g["pk"], 0) != g["stock"]:
            out.append(Mismatch("stock", g["pk"], g["name"], {"stock": moved.get(g["pk"], 0)},
                                {"stock": g["stock"]}))
    return out, balances, goods

"""`gridgov seed_demo --scale small`: the demo structure of 钟祥市, and one login per role."""

import unicodedata

from django.core.management.base import BaseCommand, CommandError

from gridgov.demo import people as population
from gridgov.demo import seed


class Command(BaseCommand):
    help = "生成钟祥市演示数据（区划、网格、职能部门、每个岗位一个演示账号），并输出每个角色的演示账号。"

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["small", "city"], default="small",
                            help="small：完整区划和账号；city：105 万人口和五年业务数据（用于压测）")
        parser.add_argument("--if-empty", action="store_true",
                            help="数据库已有区划时不生成，只输出演示账号")
        parser.add_argument("--seed", type=int, default=seed.DEFAULT_SEED, help="随机种子（同一种子结果相同）")
        parser.add_argument("--no-people", action="store_true", help="只生成区划、部门和账号，不生成人口和走访")
        parser.add_argument("--people-per-grid", type=int, default=population.DEFAULT_PER_GRID, metavar="N",
                            help=f"每个网格平均约 N 名居民（默认 {population.DEFAULT_PER_GRID}）")
        parser.add_argument("--visit-days", type=int, default=population.DEFAULT_VISIT_DAYS, metavar="DAYS",
                            help=f"生成最近 DAYS 天的走访记录（默认 {population.DEFAULT_VISIT_DAYS}，0 为不生成）")
        parser.add_argument("--city-fraction", type=float, default=1.0, metavar="F",
                            help="仅 --scale city：人口、走访和案件按比例 F（0-1]生成（测试与试跑用，默认 1）")
        parser.add_argument("--quiet", action="store_true", help="不输出任何内容")

    def handle(self, *args, scale="small", if_empty=False, quiet=False, **options):
        seed.check_demo_password()
        if scale == "city":
            self._city(if_empty=if_empty, quiet=quiet, **options)
            return
        if options.get("people_per_grid", 1) < 1 or options.get("visit_days", 0) < 0:
            raise CommandError("--people-per-grid 至少为 1，--visit-days 不能为负")
        progress = None if quiet else lambda line: self.stderr.write(line)
        reason = seed.existing_data()
        if reason and if_empty:
            if not quiet:
                self.stderr.write(f"{reason}，跳过生成演示数据。")
            self._report(seed.demo_accounts(), quiet)
            return
        try:
            result = seed.seed_small(
                seed=options["seed"], progress=progress, people=not options.get("no_people", False),
                people_per_grid=options.get("people_per_grid", population.DEFAULT_PER_GRID),
                visit_days=options.get("visit_days", population.DEFAULT_VISIT_DAYS),
            )
        except seed.SeedRefused as exc:
            raise CommandError(
                f"{exc}，不能重复生成演示数据（未做任何修改）。只查看演示账号请加 --if-empty；"
                "要重建请先换一个空数据库。"
            ) from exc
        if not quiet:
            c = result.counts
            self.stderr.write(
                f"完成，用时 {result.seconds:.1f} 秒：{c['towns']} 个镇街、{c['villages']} 个村、"
                f"{c['communities']} 个社区、{c['rural_grids']:,} 个农村网格、{c['urban_grids']} 个城区网格、"
                f"{c['departments']} 个职能部门、{c['users']:,} 个账号"
                + (f"；{c['households']:,} 户、{c['residents']:,} 名居民、{c['care_tags']:,} 个关爱对象标签、"
                   f"{c['visits']:,} 条走访记录。" if "residents" in c else "。")
            )
        self._report(result.accounts, quiet)

    def _city(self, *, if_empty: bool, quiet: bool, **options) -> None:
        from gridgov.demo import city

        fraction = options.get("city_fraction", 1.0)
        if not 0 < fraction <= 1:
            raise CommandError("--city-fraction 必须大于 0 且不大于 1")
        reason = seed.existing_data()
        if reason and if_empty:
            if not quiet:
                self.stderr.write(f"{reason}，跳过生成演示数据。")
            self._report(seed.demo_accounts(), quiet)
            return
        try:
            result = city.seed_city(seed=options["seed"], fraction=fraction,
                                    progress=None if quiet else lambda line: self.stderr.write(line),
                                    stream=None if quiet else self.stderr._out)
        except seed.SeedRefused as exc:
            raise CommandError(
                f"{exc}，--scale city 只能在空数据库上生成（未做任何修改）。请换一个空数据库后重试。"
            ) from exc
        if not quiet:
            c = result.counts
            phases = "，".join(f"{k} {v:.0f} 秒" for k, v in result.timings.items())
            self.stderr.write(
                f"完成，用时 {result.seconds:.0f} 秒（{phases}）：{c['residents']:,} 名居民、{c['households']:,} 户、"
                f"{c['visits']:,} 条走访记录、{c['cases']:,} 件案件、{c.get('egov_applications', 0):,} 件政务申请、"
                f"{c.get('points_entries', 0):,} 条积分台账。"
            )
        self._report(result.accounts, quiet)

    def _report(self, accounts: list[dict], quiet: bool) -> None:
        if not accounts:
            if not quiet:
                self.stderr.write("数据库中没有演示账号。")
            return
        path = seed.write_accounts_file(accounts)
        if quiet:
            return
        self.stdout.write("演示账号（每个角色一个，仅供演示）：")
        for a in accounts:
            where = f"{a.get('region_code') or a.get('department_code') or ''} {a['name']}".strip()
            login = f"{_pad(a['role_name'], 18)}{a['username']:<20}{a['password']}"
            self.stdout.write(f"  {login}  {where}（{a['full_name']}）")
        self.stdout.write(f"已写入 {path}。{seed.DEMO_WARNING}")


def _pad(text: str, width: int) -> str:
    """Left-aligned in `width` terminal columns, counting a Chinese character as two."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - used)

"""Seeds the few rows the crash-safety load needs into a migrated database and prints them as JSON:
a village of 胡集镇 with two grids, each grid a worker, the village committee, a points account per
grid, and API tokens. Run as a script (`python seed_minimal.py`) with DATABASE_URL set; the full demo
seed would take minutes of the five the suite may use.
"""

import json

import django

django.setup()

from gridgov.accounts.services import api_token_issue  # noqa: E402
from gridgov.points.tests import factories as f  # noqa: E402


def main() -> None:
    village = f.Village(town=f.HUJI, name="断电测试村", cadres=3, grids=2)
    workers = [village.worker] + [f.make_user("grid_worker", g, f"网格员{i + 2}") for i, g in
                                  enumerate(village.grids[1:])]
    subjects = [f.make_resident(g, name=f"积分户{i + 1}") for i, g in enumerate(village.grids)]
    accounts = [f.services.subject_open(acting_user=w, kind="resident", resident=r.pk)
                for w, r in zip(workers, subjects, strict=True)]

    def token(user) -> str:
        return api_token_issue(acting_user=user, name="resilience")[1]

    print(json.dumps({
        "grids": [g.code for g in village.grids],
        "workers": [token(w) for w in workers],
        "cadre": token(village.cadres[0]),
        "subjects": [s.pk for s in accounts],
    }))


if __name__ == "__main__":
    main()

"""What must hold after a crash: every acknowledged write is present, nothing is half-written, and the
platform's own checks (`audit_verify`, `verify_points_ledger`) pass. Read straight from the database
with psycopg, so the checks do not depend on the application being up."""

import time

import psycopg

from .cluster import gridgov


def _rows(cur, sql: str, *params) -> list[tuple]:
    cur.execute(sql, params)
    return cur.fetchall()


def quiesce(url: str, timeout: float = 60) -> None:
    """Waits until no request is still writing: a client that gave up (timeout) leaves its request
    running on the server, and a commit landing between two checks would look like a mismatch."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
                                ).fetchone()[0]
            if not busy:
                return
            time.sleep(0.2)
    raise AssertionError("requests still running a minute after the load stopped")


def check(url: str, env: dict, tally) -> tuple[int, dict]:
    """Asserts the invariants; returns the acknowledged writes found and the rows checked per table.
    All reads share one snapshot (REPEATABLE READ)."""
    quiesce(url)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        # Every acknowledged case is there, under the id the client was given.
        acked = tally.acked_cases
        found = dict(_rows(cur, "SELECT client_id::text, id FROM cases_case WHERE client_id = ANY(%s::uuid[])",
                           list(acked)))
        missing = {c: i for c, i in acked.items() if found.get(c) != i}
        assert not missing, f"acknowledged cases missing after the crash: {missing}"

        # Unacknowledged writes may have committed (the answer was lost): allowed, and counted.
        unanswered = list(tally.sent_cases - set(acked))
        committed_unacked = _rows(cur, "SELECT count(*) FROM cases_case WHERE client_id = ANY(%s::uuid[])",
                                  unanswered)[0][0]

        # No case without its first timeline entry (the report), no count out of step with the cases.
        cases = _rows(cur, "SELECT count(*) FROM cases_case")[0][0]
        events = _rows(cur, "SELECT count(*) FROM cases_caseevent")[0][0]
        orphans = _rows(cur, """SELECT c.id FROM cases_case c WHERE NOT EXISTS (
                                  SELECT 1 FROM cases_caseevent e WHERE e.case_id = c.id AND e.action = 'report')""")
        assert not orphans, f"cases without their report entry: {orphans[:10]}"
        counted = dict(((t, s), n) for t, s, n in _rows(
            cur, "SELECT town_code, state, n FROM cases_casecount WHERE n <> 0"))
        actual = dict(((t, s), n) for t, s, n in _rows(
            cur, "SELECT left(region_code, 9), state, count(*) FROM cases_case GROUP BY 1, 2"))
        assert counted == actual, f"case counts {counted} != cases {actual}"

        # Every acknowledged claim is there with its timeline; every acknowledged award is posted with
        # exactly one ledger entry; no posted claim without its entry, no entry of an unposted claim.
        claims = dict(_rows(cur, "SELECT id, status FROM points_claim WHERE id = ANY(%s)", list(tally.acked_claims)))
        assert set(claims) == set(tally.acked_claims), \
            f"acknowledged claims missing: {sorted(set(tally.acked_claims) - set(claims))[:10]}"
        unposted = [c for c in tally.acked_awards if claims.get(c) != "posted"]
        assert not unposted, f"acknowledged awards not posted: {unposted[:10]}"
        no_timeline = _rows(cur, """SELECT c.id FROM points_claim c WHERE NOT EXISTS (
                                      SELECT 1 FROM points_claimevent e WHERE e.claim_id = c.id)""")
        assert not no_timeline, f"claims without a timeline: {no_timeline[:10]}"
        per_claim = dict(_rows(cur, "SELECT claim_id, count(*) FROM points_ledgerentry WHERE kind = 'award' "
                                    "GROUP BY claim_id"))
        posted = {c for (c,) in _rows(cur, "SELECT id FROM points_claim WHERE status = 'posted'")}
        assert set(per_claim) == posted, f"posted claims {len(posted)} vs claims with an award entry {len(per_claim)}"
        assert set(per_claim.values()) <= {1}, "a claim was posted twice"
        entries = _rows(cur, "SELECT count(*) FROM points_ledgerentry")[0][0]
        balances = _rows(cur, "SELECT count(*) FROM points_balance")[0][0]
        claim_rows = _rows(cur, "SELECT count(*) FROM points_claim")[0][0]
        claim_events = _rows(cur, "SELECT count(*) FROM points_claimevent")[0][0]

    # The platform's own checks against the recovered database.
    audit = gridgov(env, "audit_verify", check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    ledger = gridgov(env, "verify_points_ledger", check=False)
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    audit_rows = int("".join(ch for ch in audit.stdout.split("：")[-1] if ch.isdigit()) or 0)
    present = (sum(1 for c, i in acked.items() if found.get(c) == i) + len(claims)
               + sum(1 for c in tally.acked_awards if claims.get(c) == "posted"))
    tally.committed_unacked = committed_unacked
    return present, {"cases": cases, "case events": events, "claims": claim_rows, "claim events": claim_events,
            "ledger entries": entries, "balances": balances, "audit rows": audit_rows}

"""The raw SQL each page needs: the baselines the page and API benchmarks compare against.

Each query is scoped the way the pages scope them (by the user's center), ordered the way the
pages order them, and limited to one page of 50. `run_query(name, sample)` executes one on
Django's default connection and fetches every row, as a page would.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from django.db import connections

from bench.common import Sample

OPEN = "('requested', 'accepted', 'in_progress', 'on_hold')"

QUERIES: dict[str, str] = {
    # The incoming queue: open referrals at the center's desks, soonest accept deadline first.
    "incoming_queue": f"""
        SELECT r.id, r.status, r.priority, r.created_at, r.accept_due_at, r.contact_due_at, r.close_due_at,
               r.assigned_to_id, r.escalated_step, s.name AS service, c.name AS client, fc.name AS from_center,
               d.name AS desk
        FROM referral_referral r
        JOIN cases_client c ON c.id = r.client_id
        JOIN centers_service s ON s.id = r.service_id
        JOIN centers_center fc ON fc.id = r.from_center_id
        JOIN centers_desk d ON d.id = r.to_desk_id
        WHERE r.to_center_id = %(center)s AND r.status IN {OPEN}
        ORDER BY r.next_due_at NULLS LAST, r.created_at DESC, r.id DESC
        LIMIT 50""",
    # Counts per status, then overdue and not-yet-routed (the queue header).
    "incoming_counts": """
        SELECT r.status, count(*) FROM referral_referral r WHERE r.to_center_id = %(center)s GROUP BY r.status""",
    "incoming_overdue": """
        SELECT count(*) FILTER (WHERE r.next_due_at < now() AND r.to_desk_id IS NOT NULL),
               count(*) FILTER (WHERE r.status = 'requested' AND r.to_desk_id IS NULL)
        FROM referral_referral r WHERE r.to_center_id = %(center)s
          AND ((r.next_due_at < now() AND r.to_desk_id IS NOT NULL) OR (r.status = 'requested' AND r.to_desk_id IS NULL))""",
    # The referral page: the referral with what the receiving desk may see, and its event log.
    "referral_detail": """
        SELECT r.*, c.name, c.phone, c.birth_date, s.name AS service, d.name AS desk, tc.name AS to_center,
               fc.name AS from_center, n.note AS need_note
        FROM referral_referral r
        JOIN cases_client c ON c.id = r.client_id
        JOIN centers_service s ON s.id = r.service_id
        JOIN centers_center fc ON fc.id = r.from_center_id
        LEFT JOIN centers_desk d ON d.id = r.to_desk_id
        LEFT JOIN centers_center tc ON tc.id = r.to_center_id
        LEFT JOIN cases_need n ON n.case_id = r.case_id AND n.code = s.code
        WHERE r.id = %(referral)s AND (r.from_center_id = %(center)s OR r.to_center_id = %(center)s)""",
    "referral_events": """
        SELECT e.at, e.kind, e.from_status, e.to_status, e.desk_id, e.reason, e.note, e.data, e.by_id
        FROM referral_referralevent e WHERE e.referral_id = %(referral)s ORDER BY e.at, e.id""",
    # Client search in the counselor's center: name prefix, exact phone, and the last four digits.
    "client_search_name": """
        SELECT id, name, birth_date, phone, rrn_prefix FROM cases_client
        WHERE center_id = %(center)s AND name LIKE %(name_prefix)s ORDER BY name, id LIMIT 50""",
    "client_search_phone": """
        SELECT id, name, birth_date, phone, rrn_prefix FROM cases_client
        WHERE center_id = %(center)s AND phone = %(phone)s ORDER BY name, id LIMIT 50""",
    "client_search_phone_last4": """
        SELECT id, name, birth_date, phone, rrn_prefix FROM cases_client
        WHERE center_id = %(center)s AND phone_last4 = %(phone_last4)s ORDER BY name, id LIMIT 50""",
    # The case list: the center's open cases, newest first, with the client's name and counts per status.
    "case_list": """
        SELECT k.id, k.status, k.channel, k.opened_at, k.counselor_id, c.name, c.phone,
               (SELECT count(*) FROM referral_referral r WHERE r.case_id = k.id) AS referrals
        FROM cases_case k JOIN cases_client c ON c.id = k.client_id
        WHERE k.center_id = %(center)s AND k.status = 'open'
        ORDER BY k.opened_at DESC LIMIT 50""",
    "case_counts": """
        SELECT k.status, count(*) FROM cases_case k WHERE k.center_id = %(center)s GROUP BY k.status""",
    # Monthly national statistics for the last 12 months straight from the raw rows: the naive
    # baseline for the stats dashboard (which reads rollups).
    "stats_naive_12_months": """
        SELECT date_trunc('month', r.created_at AT TIME ZONE 'Asia/Seoul') AS month, fc.kind, fc.region_id,
               s.domain, r.service_id,
               count(*) AS sent,
               count(*) FILTER (WHERE r.accepted_at IS NOT NULL) AS accepted,
               count(*) FILTER (WHERE r.status = 'completed') AS completed,
               count(*) FILTER (WHERE r.achieved) AS achieved,
               count(*) FILTER (WHERE r.status = 'failed') AS failed,
               count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE r.status = 'rejected') AS rejected,
               count(DISTINCT r.client_id) AS clients,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.accepted_at - r.created_at) AS median_to_accept,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY r.closed_at - r.created_at) AS p90_to_close
        FROM referral_referral r
        JOIN centers_center fc ON fc.id = r.from_center_id
        JOIN centers_service s ON s.id = r.service_id
        WHERE r.created_at >= date_trunc('month', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul'
                              - interval '11 months'
        GROUP BY 1, 2, 3, 4, 5""",
}

# The index each query should be served by at 1M referrals (checked with EXPLAIN ANALYZE).
EXPECTED_INDEX: dict[str, str | tuple[str, ...]] = {
    # Either is fine: the first 50 by due time straight off the next-due index, or (a center with a few
    # hundred open referrals) the open ones from the status index and a top-N sort — both ~1-4 ms.
    "incoming_queue": ("ref_in_center_next_due", "ref_in_center_status_due"),
    "incoming_counts": "ref_in_center_status_due",
    "incoming_overdue": "ref_in_center_next_due",
    "referral_detail": "referral_referral_pkey",
    # A handful of rows either way: the FK index on referral_id is as good as (referral, at).
    "referral_events": ("refevent_referral_at", "referral_referralevent_referral_id_"),
    "client_search_name": "client_center_name_prefix",
    "client_search_phone": "client_center_phone",
    "client_search_phone_last4": "client_center_phone_last4",
    "case_list": "case_center_status_opened",
    "case_counts": "case_center_status_opened",
}


def params_cycle(sample: Sample) -> Callable[[], dict[str, Any]]:
    """Parameters for successive calls, cycling through the sample so caches are not the only thing timed."""
    refs = itertools.cycle(sample.referral_ids)
    names = itertools.cycle(sample.name_prefixes)
    phones = itertools.cycle(sample.phones)

    def next_params() -> dict[str, Any]:
        phone = next(phones)
        return {
            "center": sample.center_id,
            "referral": next(refs),
            "name_prefix": next(names) + "%",
            "phone": phone,
            "phone_last4": phone[-4:],
        }

    return next_params


def run_query(name: str, params: dict[str, Any], using: str = "default") -> list[tuple[Any, ...]]:
    with connections[using].cursor() as cur:
        cur.execute(QUERIES[name], params)
        return cur.fetchall()


def explain(name: str, params: dict[str, Any], using: str = "default") -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) as JSON: the indexes used, whether anything is scanned sequentially, the text plan."""
    with connections[using].cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + QUERIES[name], params)
        raw = cur.fetchone()[0]
        plan = (raw if isinstance(raw, list) else json.loads(raw))[0]
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + QUERIES[name], params)
        text = "\n".join(r[0] for r in cur.fetchall())
    indexes: set[str] = set()
    seq: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        if node.get("Node Type") == "Seq Scan":
            seq.add(node.get("Relation Name", "?"))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return {
        "indexes": sorted(indexes),
        "seq_scans": sorted(seq),
        "execution_ms": plan.get("Execution Time"),
        "plan": text,
    }

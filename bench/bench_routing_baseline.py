"""The floor under routing: one Redis round trip plus one PostgreSQL commit (redis-py, psycopg)."""

from __future__ import annotations

import psycopg
import redis

from bench.common import Context, Row, compare, measure


def run(ctx: Context) -> list[Row]:
    r = redis.Redis.from_url(ctx.redis_url)
    with psycopg.connect(ctx.database_url) as conn:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())"
            )
        conn.commit()

        def round_trip() -> None:
            r.rpush("bench:routing", b"x")
            r.lpop("bench:routing")
            with conn.cursor() as cur:
                cur.execute("INSERT INTO bench_commit DEFAULT VALUES")
            conn.commit()

        stats = measure(round_trip, n=max(100, ctx.repeat * 4), warmup=10)
        with conn.cursor() as cur:
            cur.execute("TRUNCATE bench_commit")
        conn.commit()
    redis_only = measure(lambda: r.ping(), n=200, warmup=10)
    r.close()
    return [
        compare(
            "routing baseline: Redis push+pop and one PostgreSQL commit",
            stats,
            baseline="Redis PING",
            base=redis_only,
            target="reference for the routing row",
        )
    ]

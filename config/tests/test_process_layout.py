"""Every way the product is started (Procfile, Procfile.dev, docker-compose) serves each queue, and never
runs statistics rebuilds in the process that routes referrals: a rebuild takes seconds to minutes, and
sharing the process made a routing backlog drain four times slower (docs/benchmarks.md)."""

import os
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
QUEUES = {"routing", "notifications", "stats"}


def _queues(argv: list[str]) -> set[str]:
    return set(argv[argv.index("-Q") + 1].split(",")) if "-Q" in argv else set()


def _procfile_workers(name: str) -> list[list[str]]:
    lines = (ROOT / name).read_text().splitlines()
    commands = [shlex.split(line.split(":", 1)[1]) for line in lines if line.strip()]
    return [argv for argv in commands if "worker" in argv and any(a.endswith("celery") for a in argv)]


def _compose_workers() -> list[list[str]]:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return [s["command"] for s in services.values() if "worker" in s.get("command", [])]


@pytest.mark.parametrize("source", ["Procfile", "Procfile.dev", "docker-compose.yml"])
def test_every_queue_is_served_and_stats_never_share_the_routing_process(source):
    workers = _compose_workers() if source == "docker-compose.yml" else _procfile_workers(source)
    served = [_queues(argv) for argv in workers]
    assert set().union(*served) == QUEUES
    assert not any({"routing", "stats"} <= q for q in served)
    # Two workers on one host need distinct node names, or Celery warns and remote control gets confused.
    names = [argv[argv.index("-n") + 1] if "-n" in argv else "celery@%h" for argv in workers]
    assert len(set(names)) == len(names)


def test_the_optional_replica_streams_from_the_compose_primary_and_the_app_can_be_pointed_at_it():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    standby = services["postgres-replica"]
    assert standby["profiles"] == ["replica"]  # not started unless asked for
    script = " ".join(standby["command"])
    assert "pg_basebackup -h postgres" in script and " -R " in script and "exec postgres" in script
    assert standby["user"] == "postgres"  # PostgreSQL refuses to run as root
    assert standby["volumes"][0].split(":")[0] in compose["volumes"]
    # The primary lets it stream: its init script (read when the data folder is created) exists and says so.
    mount = next(v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v)
    init = ROOT / mount.split(":")[0]
    assert init.is_file() and "host replication" in init.read_text() and os.access(init, os.X_OK)
    # Every app process gets the variable (empty unless .env sets it: then no replica is used).
    assert "DATABASE_REPLICA_URL" in services["web"]["environment"]


def test_a_process_starts_without_loading_scikit_learn():
    """Every web node, worker and management command imports the apps; only training or loading the screening
    model needs scikit-learn and NumPy (1.2 s and ~100 MB of every process's start when it was imported with
    the jobs app). A fresh interpreter, so what the test run imported already does not count."""
    import subprocess
    import sys

    code = (
        "import sys, django; django.setup(); import jobs.services, referral.services, stats.services; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'numpy', 'scipy', 'joblib'}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

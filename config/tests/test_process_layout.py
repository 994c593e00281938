"""Every way the product is started (Procfile, Procfile.dev, docker-compose) serves each queue, and never
runs statistics rebuilds in the process that routes referrals: a rebuild takes seconds to minutes, and
sharing the process made a routing backlog drain four times slower (docs/benchmarks.md)."""

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

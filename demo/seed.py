"""Demo data for `make run`. Each app adds its part through its own services."""


def seed_demo_data() -> None:
    """Idempotent: running seed_demo twice leaves one set of demo data."""
    from demo.seed_cases import seed as seed_cases
    from demo.seed_referrals import seed as seed_referrals

    seed_cases()
    seed_referrals()

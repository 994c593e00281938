from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo seeding and the synthetic generator, built on the apps' own services and rules; no app imports it."""

    name = "demo"

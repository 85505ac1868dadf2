from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares; imports nothing of ours."""

    name = "core"
    verbose_name = "Core"

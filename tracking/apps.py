from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        from tracking import checks, receivers  # noqa: F401 (checks registers itself)

        receivers.connect()

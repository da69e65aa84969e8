from django.apps import AppConfig


class GuardianConfig(AppConfig):
    name = "yiyang.guardian"
    label = "guardian"
    verbose_name = "Silver Guardian"

    def ready(self) -> None:
        # Periodic jobs register with crontask on import.
        from yiyang.guardian import tasks  # noqa: F401

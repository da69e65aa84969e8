from django.apps import AppConfig


class SubsidiesConfig(AppConfig):
    name = "yiyang.subsidies"
    label = "subsidies"

    def ready(self) -> None:
        from yiyang.subsidies import tasks  # noqa: F401  registers the monthly cron job

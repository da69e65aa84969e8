from django.apps import AppConfig


class PlanConfig(AppConfig):
    name = "yiyang.plan"
    label = "plan"

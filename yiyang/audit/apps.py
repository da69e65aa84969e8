from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "yiyang.audit"
    label = "audit"

from django.apps import AppConfig


class HomecareConfig(AppConfig):
    name = "yiyang.homecare"
    label = "homecare"

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "yiyang.people"
    label = "people"

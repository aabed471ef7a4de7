from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    name = "partnerhub.settlements"
    label = "settlements"
    verbose_name = "Site-host settlements"

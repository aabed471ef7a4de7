from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "partnerhub.tiers"
    label = "tiers"
    verbose_name = "Tiers"

from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "partnerhub.charging"
    label = "charging"
    verbose_name = "EV charging"

from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "partnerhub.incentives"
    label = "incentives"
    verbose_name = "Incentives"

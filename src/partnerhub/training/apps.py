from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "partnerhub.training"
    label = "training"
    verbose_name = "Training"

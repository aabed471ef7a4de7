from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "partnerhub.console"
    label = "console"
    verbose_name = "Vendor console"

    def ready(self) -> None:
        from django.db.models.signals import post_save
        from django_tasks.signals import task_finished

        from partnerhub.tiers.models import EvaluationRun

        post_save.connect(
            _evaluation_saved, sender=EvaluationRun, dispatch_uid="console_health_after_run"
        )
        task_finished.connect(_task_finished, dispatch_uid="console_health_after_task")


def _evaluation_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    """A finished tier evaluation run (never a dry run: those store no run) changes the tier
    figures: refresh the program health snapshot once it is committed."""
    if instance.finished_at is not None and not created:
        from partnerhub.console.tasks import queue_refresh_on_commit

        queue_refresh_on_commit()


def _task_finished(sender, task_result, **kwargs) -> None:
    """After the deal tasks that follow a billing import (closed-won matching) or run daily
    (expiry), the pipeline and billings changed: refresh the snapshot."""
    from partnerhub.console.tasks import REFRESH_AFTER_TASKS, queue_refresh_on_commit

    if task_result.task.module_path in REFRESH_AFTER_TASKS:
        queue_refresh_on_commit()

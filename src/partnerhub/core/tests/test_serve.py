"""``partnerhub serve --with-worker`` (what ``make run`` starts): the task worker runs beside the
web server and stops with it, so queued work (a settlement run started in the console, e-mail)
is done on a fresh set-up without a second terminal."""

from __future__ import annotations

import subprocess

import pytest
from django.core.management import call_command

from partnerhub.core.management.commands import serve


class FakeWorker:
    def __init__(self, command):
        self.command = command
        self.terminated = False

    def terminate(self):
        self.terminated = True

    def wait(self, timeout=None):
        return 0


@pytest.mark.django_db
def test_with_worker_starts_the_worker_and_stops_it_with_the_server(monkeypatch, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    started = []

    def popen(command):
        started.append(FakeWorker(command))
        return started[-1]

    def run(self):
        raise SystemExit(0)  # gunicorn's master exits like this on Ctrl-C

    monkeypatch.setattr(serve.subprocess, "Popen", popen)
    monkeypatch.setattr("gunicorn.app.base.BaseApplication.run", run)
    with pytest.raises(SystemExit):
        call_command("serve", "--bind", "127.0.0.1:0", "--with-worker")
    assert [w.command for w in started] == [serve.worker_command()]
    assert started[0].terminated
    # The recurring runs are queued once for the worker: a "next evaluation" or "within a
    # minute" promised by a page happens on a fresh set-up too.
    from django_tasks_db.models import DBTaskResult

    from partnerhub.core.tasks import RECURRING, schedule_all

    waiting = set(DBTaskResult.objects.filter(status="READY").values_list("task_path", flat=True))
    assert len(waiting) == len(RECURRING)
    assert not any(schedule_all().values())  # idempotent: nothing queued twice


def test_without_the_option_no_worker_is_started(monkeypatch):
    monkeypatch.setattr(serve.subprocess, "Popen", lambda command: pytest.fail("started"))
    monkeypatch.setattr(
        "gunicorn.app.base.BaseApplication.run", lambda self: (_ for _ in ()).throw(SystemExit(0))
    )
    with pytest.raises(SystemExit):
        call_command("serve", "--bind", "127.0.0.1:0")


def test_the_worker_command_is_the_task_worker():
    out = subprocess.run(
        [*serve.worker_command(), "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "queue" in out.stdout.lower()

"""``partnerhub serve``: the web + API process (gunicorn, with static files via whitenoise);
``--with-worker`` also runs the background task worker beside it (``make run``)."""

from __future__ import annotations

import os
import subprocess
import sys

from django.core.management.base import BaseCommand


def worker_command() -> list[str]:
    """``partnerhub worker`` run by this Python, whichever way ``serve`` was started."""
    return [sys.executable, "-m", "partnerhub.manage", "worker"]


class Command(BaseCommand):
    help = "Serve the web application and API with gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also run the background task worker (settlement runs, e-mail, webhooks) "
            "until the server stops.",
        )

    def handle(self, *args, bind: str, workers: int, with_worker: bool = False, **options):
        from django.core.wsgi import get_wsgi_application
        from gunicorn.app.base import BaseApplication

        wsgi = get_wsgi_application()

        class Server(BaseApplication):
            def load_config(self):
                self.cfg.set("bind", bind)
                self.cfg.set("workers", workers)
                self.cfg.set("accesslog", "-")

            def load(self):
                return wsgi

        self.stdout.write(
            f"Serving PartnerHub on http://{bind}/ (admin at /admin/, API docs at /api/v1/docs)"
        )
        worker = None
        if with_worker:
            from partnerhub.core.tasks import schedule_all

            schedule_all()  # the recurring runs the worker carries out (idempotent)
            worker = subprocess.Popen(worker_command())
            self.stdout.write(
                "Background task worker started: queued runs, e-mail, webhook deliveries every "
                "30 s, the nightly tier evaluation and the daily runs."
            )
        try:
            Server().run()
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

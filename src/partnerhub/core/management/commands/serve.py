"""``partnerhub serve``: the web + API process (gunicorn, with static files via whitenoise)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web application and API with gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
        )

    def handle(self, *args, bind: str, workers: int, **options):
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
        Server().run()

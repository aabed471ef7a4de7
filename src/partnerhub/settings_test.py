"""Settings for the test suite: the normal settings, made fast and deterministic."""

from partnerhub.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEBUG = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
LOGGING = {"version": 1, "disable_existing_loggers": False}

import tempfile  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="partnerhub-test-media-"))  # noqa: F405

# WhiteNoise scans every static file when its middleware is built, and the test client builds
# the middleware chain once per client, i.e. once per test (≈70 ms each, a third of the
# suite's time). With autorefresh it looks a file up when it is asked for instead.
WHITENOISE_AUTOREFRESH = True

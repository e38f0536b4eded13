"""Settings for Django's own test suite (tests/runtests.py) on phantomdb_django.

The runner starts a PhantomDB Lite server and passes its URL in PHANTOMDB_URL.
"""

import os

_SERVER = os.environ["PHANTOMDB_URL"]

DATABASES = {
    "default": {"ENGINE": "phantomdb_django", "NAME": "django_default", "HOST": _SERVER},
    "other": {"ENGINE": "phantomdb_django", "NAME": "django_other", "HOST": _SERVER},
}

SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False

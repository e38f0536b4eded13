"""Settings for Django's own test suite (tests/runtests.py) on phantomdb_django.

The runner starts a PhantomDB Lite server and passes its URL in PHANTOMDB_URL;
PHANTOMDB_CACHE=off runs the suite with the query cache disabled.
"""

import os

_SERVER = os.environ["PHANTOMDB_URL"]
_OPTIONS = {"CACHE": {"ENABLED": os.environ.get("PHANTOMDB_CACHE", "on") != "off"}}

DATABASES = {
    "default": {"ENGINE": "phantomdb_django", "NAME": "django_default", "HOST": _SERVER, "OPTIONS": _OPTIONS},
    "other": {"ENGINE": "phantomdb_django", "NAME": "django_other", "HOST": _SERVER, "OPTIONS": _OPTIONS},
}

SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False

"""Django's own test suite on its native sqlite3 backend, for the yardstick.

The settings of Django's tests/test_sqlite.py; settings_phantomdb takes all
but DATABASES from here.
"""

import django

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3"},
    "other": {"ENGINE": "django.db.backends.sqlite3"},
}

SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = False
if django.VERSION < (6,):
    # Django's test settings kept AutoField until its default became BigAutoField (6.0).
    DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

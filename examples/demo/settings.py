"""Settings of the example project: every value here is one a user would write.

``HOST`` empty means the embedded PhantomDB Lite, storing its files in
``PHANTOMDB_DATA_DIR`` (default ``examples/phantomdb-data``). Point
``PHANTOMDB_HOST`` at a running server to use that instead. ``REDIS_URL``
switches the query cache to shared mode (every process sees every write).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "phantomdb_django",  # the phantomdb_cache management command
    "people",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "demo.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "phantomdb_django",
        "NAME": os.environ.get("PHANTOMDB_NAME", "myapp"),
        "HOST": os.environ.get("PHANTOMDB_HOST", ""),
        "USER": os.environ.get("PHANTOMDB_USER", ""),
        "PASSWORD": os.environ.get("PHANTOMDB_PASSWORD", ""),
        "CONN_MAX_AGE": 600,
        "OPTIONS": {
            "data_dir": os.environ.get("PHANTOMDB_DATA_DIR", str(BASE_DIR / "phantomdb-data")),
        },
    }
}

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "phantomdb_django": {
            "handlers": ["console"],
            "level": os.environ.get("PHANTOMDB_LOG_LEVEL", "WARNING"),
        },
    },
}

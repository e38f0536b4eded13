"""Settings for Django's own test suite (tests/runtests.py) on phantomdb_django.

The runner starts a PhantomDB Lite server and passes its URL in PHANTOMDB_URL
(empty: the embedded server, in PHANTOMDB_DATA_DIR); PHANTOMDB_CACHE=off runs
the suite with the query cache disabled.
"""

import os

from settings_sqlite3 import *  # noqa: F403  (Django's test settings, all but DATABASES)

_SERVER = os.environ["PHANTOMDB_URL"]
_OPTIONS = {"CACHE": {"ENABLED": os.environ.get("PHANTOMDB_CACHE", "on") != "off"}}
if not _SERVER:  # the embedded PhantomDB Lite, called in process
    _OPTIONS.update(data_dir=os.environ["PHANTOMDB_DATA_DIR"], durability="off")

DATABASES = {
    "default": {"ENGINE": "phantomdb_django", "NAME": "django_default", "HOST": _SERVER, "OPTIONS": _OPTIONS},
    "other": {"ENGINE": "phantomdb_django", "NAME": "django_other", "HOST": _SERVER, "OPTIONS": _OPTIONS},
}

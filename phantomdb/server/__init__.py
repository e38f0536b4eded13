"""PhantomDB Lite: a single-node PhantomDB server, the REST API of docs/rest-api.md over SQLite.

Start it with ``phantomdb serve``, ``python -m phantomdb.server`` or, inside
another process, ``phantomdb.server.embedded.start_embedded``. This package
imports nothing at import time so that its modules can be loaded one by one.
"""

VERSION = "1.0.0"

"""Django database backend for PhantomDB: ``ENGINE: "phantomdb_django"``."""

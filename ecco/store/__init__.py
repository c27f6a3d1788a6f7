"""Storage adapters: SQLAlchemy 2 (async) over SQLite by default, any SQLAlchemy URL on request."""

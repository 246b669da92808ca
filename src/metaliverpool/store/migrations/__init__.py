"""Alembic migrations of the web server's database (packaged so ``pip install`` ships them).

Run them with :func:`metaliverpool.store.db.migrate_database`; new revisions go in ``versions/``.
"""

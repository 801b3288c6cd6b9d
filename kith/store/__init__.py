"""Storage: one interface per area, SQL only in this package.

Each area module (accounts, events, ...) defines its schema and a class whose
async methods are the only way the rest of Kith reads or writes that area. The
`Database` wrapper owns the connection and the dialect, so a PostgreSQL backend
can replace it without touching callers.

What a backend must provide is written at the top of `database.py`; every SQL
difference between backends lives in `dialect.py` (stores ask `db.dialect` for
those fragments and write everything else as portable SQL). tests/store is the
contract suite: it checks each store's observable behaviour once per backend
in its BACKENDS list, so a new backend is done when that suite passes on it.
The full-text search store (`search.py`) is SQLite FTS5 by design and is the
one store another backend replaces rather than reuses.
"""

"""Storage: one interface per area, SQL only in this package.

Each area module (accounts, events, ...) defines its schema and a class whose
async methods are the only way the rest of Kith reads or writes that area. The
`Database` wrapper owns the connection and the dialect, so a PostgreSQL backend
can replace it without touching callers.
"""

"""Sync-side logic: filters and the /sync response assembly that reads them."""

"""Ephemeral room data kept in memory: typing notifications."""

"""Authentication: password hashing, access tokens, user-interactive auth."""

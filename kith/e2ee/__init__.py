"""End-to-end encryption support: the server stores and relays ciphertext and
public keys (spec: client-server-api/modules/end_to_end_encryption.md)."""

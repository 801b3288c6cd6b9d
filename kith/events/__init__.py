"""Pure event model: PDU formats per room version, hashing, signing, redaction."""

"""Privacy mechanics shared by every feature: keyed hashes, rotating IP keys, log redaction."""

"""Updates to signers who opted in: compose in every language, test, send once."""

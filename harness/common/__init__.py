"""Helpers every layer may use: redaction of secrets and machine paths, spelling suggestions, safe file writes."""

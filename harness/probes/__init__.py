"""Probes: the requests that observe access, made as each principal."""

"""Probes: the requests that observe access, made as each principal.

One module per probe kind (`list_models`, `chat`), found through `registry`; `run` sends them.
"""

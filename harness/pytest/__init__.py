"""The pytest plugin: scenario files collected as tests, one test per check."""

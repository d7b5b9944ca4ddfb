"""The `gateconform` command line (entry point: `harness.cli.app:main`)."""

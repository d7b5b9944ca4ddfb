"""Sub-commands of `gateconform` that live in their own modules; each registers on `cli.app`."""

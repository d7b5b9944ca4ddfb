"""Everything that knows LiteLLM: admin API, vocabulary, releases, environments, launchers."""

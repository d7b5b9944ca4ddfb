"""Runs scenarios on targets: provision, probe, judge, tear down; proxies grouped and watched."""

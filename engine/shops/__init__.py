"""Shops that installed the app: install, uninstall and their Admin API tokens."""

"""Accounts and authentication: register, login, refresh-token rotation, logout, roles."""

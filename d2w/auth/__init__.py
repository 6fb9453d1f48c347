"""Accounts, sessions, passwords, invitations and login."""

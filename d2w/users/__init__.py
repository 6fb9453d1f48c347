"""Managing people's accounts: the directory, invitations, roles and deactivation."""

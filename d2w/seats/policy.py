"""Who may do what in the seats domain: one function per rule, shared by views, queries and templates."""

from __future__ import annotations

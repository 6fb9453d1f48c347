"""Who may do what in the applications domain: one function per rule, shared by views, queries and templates."""

from __future__ import annotations

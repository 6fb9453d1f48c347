"""Cross-cutting code shared by every domain."""

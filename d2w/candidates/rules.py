"""Pure rules for candidate data. No Flask or database import."""

from __future__ import annotations

MAX_LANGUAGES = 20
MAX_LANGUAGE_LENGTH = 60


class LanguageError(ValueError):
    pass


def clean_languages(raw: str | list[str] | None) -> list[str]:
    """Split "English; Bengali, Sylheti" into tidy, distinct names (compared case-insensitively)."""
    if raw is None:
        return []
    parts = raw if isinstance(raw, list) else raw.replace(";", ",").split(",")
    seen, out = set(), []
    for part in parts:
        name = " ".join(part.split())
        if not name:
            continue
        if len(name) > MAX_LANGUAGE_LENGTH:
            raise LanguageError(f"“{name[:20]}…” is too long for a language name.")
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            out.append(name[:1].upper() + name[1:])
    if len(out) > MAX_LANGUAGES:
        raise LanguageError(f"List at most {MAX_LANGUAGES} languages.")
    return out

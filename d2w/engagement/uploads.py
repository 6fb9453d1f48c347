"""Evidence files: checked by their content, stored outside the web root under random names.

A file is accepted only if its first bytes say it is a PDF, a JPEG or a PNG (the name and the
browser's declared type are ignored), it is not empty, it is no larger than
``EVIDENCE_MAX_BYTES``, and its name has no folder parts. It is written to ``EVIDENCE_DIR``
(default ``instance/evidence``) as ``<32 hex characters>.<pdf|jpg|png>``; the original name is
kept, tidied, for display and as the download's name. Files are only ever read back through
``path_for``, which accepts nothing but names of that shape.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

# (magic bytes, content type, extension)
SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
EXTENSIONS = {content_type: ext for _, content_type, ext in SIGNATURES}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png)$")
ACCEPTED = "a PDF, JPEG or PNG file"


class UploadError(ValueError):
    """The file was refused; ``message`` says why, in words for the person uploading it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Evidence:
    data: bytes
    filename: str
    content_type: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def sniff(head: bytes) -> str | None:
    """The content type that a file's first bytes announce (PDF, JPEG or PNG), or None."""
    for magic, content_type, _ in SIGNATURES:
        if head.startswith(magic):
            return content_type
    return None


def clean_filename(raw: str | None) -> str:
    """A display name for an uploaded file. Refuses names with folder parts or nothing left."""
    name = unicodedata.normalize("NFC", raw or "")
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UploadError("The file name must not contain folder names: rename the file and choose it again.")
    name = " ".join(name.split())  # tabs and line breaks become spaces
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(". ")
    if not name:
        raise UploadError("The file needs a name: rename it and choose it again.")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def max_bytes() -> int:
    return int(current_app.config["EVIDENCE_MAX_BYTES"])


def describe_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB" if n % (1024 * 1024) == 0 else f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def read(stream, filename: str | None, *, limit: int | None = None) -> Evidence:
    """Read and check an uploaded file (a file-like object and its client-side name)."""
    limit = max_bytes() if limit is None else limit
    name = clean_filename(filename)
    data = stream.read(limit + 1)
    if not data:
        raise UploadError("The file is empty: choose the file again.")
    if len(data) > limit:
        raise UploadError(f"The file is larger than {describe_size(limit)}: choose a smaller file.")
    content_type = sniff(data[:16])
    if content_type is None:
        raise UploadError(f"The file must be {ACCEPTED}. Its content is not, whatever its name says.")
    return Evidence(data=data, filename=name, content_type=content_type)


def evidence_dir() -> Path:
    configured = current_app.config.get("EVIDENCE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "evidence"


def store(evidence: Evidence) -> str:
    """Write the file under a new random name and return that name."""
    folder = evidence_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{secrets.token_hex(16)}.{evidence.extension}"
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(evidence.data)
    except OSError:
        discard(name)
        raise
    return name


def path_for(stored_name: str) -> Path | None:
    """The path of a stored file, or None if the name is not one of ours or the file is gone."""
    if not stored_name or not _STORED_NAME.match(stored_name):
        return None
    path = evidence_dir() / stored_name
    return path if path.is_file() else None


def discard(stored_name: str | None) -> None:
    """Remove a stored file (after a failed save, or when evidence is replaced)."""
    if not stored_name or not _STORED_NAME.match(stored_name):
        return
    with contextlib.suppress(FileNotFoundError):
        (evidence_dir() / stored_name).unlink()

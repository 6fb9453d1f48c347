"""The WSGI entry point for gunicorn: ``gunicorn 'd2w.wsgi:app'``.

A configuration error stops the process with one line saying what to fix.
"""

import sys

from config import ConfigError
from d2w import create_app, settle_for_serving

try:
    app = create_app()
except ConfigError as exc:
    sys.exit(f"d2w cannot start: {exc}")
settle_for_serving()

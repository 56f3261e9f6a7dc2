"""``python -m xorgrok``: the command line (:mod:`xorgrok.cli`)."""

from .cli import main

raise SystemExit(main())

"""``python -m bioattn``: the command line (see :mod:`bioattn.cli`)."""

from bioattn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

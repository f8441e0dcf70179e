"""User-facing errors.

Every mistake a user can make (unknown parameter, wrong unit, negative value, malformed TOML,
missing file, unknown protocol) raises :class:`BioattnError` with a one-line message that names
the offending thing, its value and what was expected.  The command-line interface turns it into
one line on stderr and exit code 2.
"""

from __future__ import annotations


class BioattnError(ValueError):
    """A bad input from the user; its message is a single line meant to be read by a person."""

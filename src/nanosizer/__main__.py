"""``python -m nanosizer`` runs the command-line tool."""

from .cli import main

main()

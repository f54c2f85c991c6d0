"""`python -m invoicesync`."""

from invoicesync.cli import main

main()

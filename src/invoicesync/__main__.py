"""`python -m invoicesync`."""

from invoicesync import main

main()

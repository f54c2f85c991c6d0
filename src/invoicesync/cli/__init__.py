"""The command line: parse, call a use case, render. One module per command group.

app          the Typer app, global options, the error boundary, `main`
options      shared options and the session helper
views        each report as its JSON document and table rows (typed)
render       rich tables, progress, JSON on stdout; messages on stderr
connection   connect, disconnect, status, ci-seed
invoices     invoices, push
link         list-candidates, link, unlink, reconcile
prepare      prepare (and what `push --prepare` shows)
sandbox      sandbox serve, demo (demo_story tells the story)
followup     payments, send, pdf (followup_views: their documents, tables and CSV)
"""

from invoicesync.cli import connection, followup, invoices, link, prepare, sandbox
from invoicesync.cli.app import AppState, app, main

__all__ = [
    "AppState",
    "app",
    "connection",
    "followup",
    "invoices",
    "link",
    "main",
    "prepare",
    "sandbox",
]

"""The command line: parse, call a use case, render. One module per command group.

app          the Typer app, global options, the error boundary, `main`
options      shared options and the session helper
views        each report as its JSON document and table rows (typed)
render       rich tables, progress, JSON on stdout; messages on stderr
connection   connect, disconnect, status, ci-seed
invoices     invoices, push
link         list-candidates, link, unlink, reconcile
lifecycle    void
profiles     profiles (each one's target and connection, from local files)
prepare      prepare (and what `push --prepare` shows)
sandbox      sandbox serve (each target serves its own), demo (targets/demo.py tells the story)
followup     payments, send, pdf (followup_views: their documents, tables and CSV)
history      history, runs (history_views: their documents and tables)
"""

from invoicesync.cli import (
    connection,
    followup,
    history,
    invoices,
    lifecycle,
    link,
    prepare,
    profiles,
    sandbox,
)
from invoicesync.cli.app import AppState, app, main

__all__ = [
    "AppState",
    "app",
    "connection",
    "followup",
    "history",
    "invoices",
    "lifecycle",
    "link",
    "main",
    "prepare",
    "profiles",
    "sandbox",
]

"""Use cases, one module per command group. Each returns a plain result; the CLI renders it.

    session      a connected target (ledger), tokens, the state store and its lock
    connection   connect, disconnect, status
    invoices     load the source, list invoices with their link state
    push         select → run_plan.plan() (reads only, frozen) → push.execute(plan)
    link         list-candidates, link, unlink
    reconcile    drift of linked invoices, rebuilding lost links

No printing here: progress goes through `session.Progress`, warnings into the results.
"""

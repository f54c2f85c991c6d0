"""`push --dry-run`: the run's plan as the push report it would become, so the dry run's
`--json` document and table are the push's own (docs/json.md, `invoicesync.push/2`, with
`dry_run: true` and each planned payload). Pure: no I/O, no rendering here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoicesync.usecases.push_report import (
    NOT_ATTEMPTED,
    PushReport,
    PushResult,
    source_result,
)

if TYPE_CHECKING:
    from invoicesync.usecases.push import Preview
    from invoicesync.usecases.run_plan import RunPlan


def preview_report(preview: Preview) -> PushReport:
    """Every invoice of the plan with what the run would do to it, in the source's order; when
    planning stopped, those it did not reach are `not attempted` with the error's exit code."""
    plan = preview.plan
    decided = plan.decided if plan is not None else preview.selection.decided
    results = {d.invoice: d.result() for d in decided}
    if plan is not None:
        results |= planned(plan)
        for c in plan.credits:
            result = results.get(c.note.number)
            if c.says and result is not None:
                result.message = "; ".join(m for m in [result.message, c.says] if m)
    report = PushReport(preview.account, True, [], fatal=preview.fatal)
    for number in preview.order:
        if number not in results:
            results[number] = PushResult(number, "not attempted", message=NOT_ATTEMPTED)
            if preview.fatal is not None:
                results[number].exit_code = preview.fatal.exit_code
    report.results = [results[n] for n in preview.order]
    return report


def planned(plan: RunPlan) -> dict[str, PushResult]:
    """The planned steps as results: adoptions, creates (with their payloads), edits (the
    sparse update, field by field), voids."""
    out: dict[str, PushResult] = {}
    target = plan.target
    for a in plan.push.adoptions:
        inv, remote = a.invoice, a.remote
        out[inv.number] = PushResult(
            inv.number, "planned", remote.id, remote.doc_number, inv.total, inv.currency,
            message=f"would adopt the existing {target} {remote.ref.kind.label}",
            kind=remote.ref.kind,
        )  # fmt: skip
    for d in plan.push.creates:
        inv = d.invoice
        out[inv.number] = PushResult(
            inv.number, "planned", doc_number=d.doc_number, total=inv.total,
            currency=inv.currency, payload=dict(d.payload), message="would be created",
        )  # fmt: skip
    for c in plan.edits:
        message = "would be updated" if c.edit.fields else f"{target} already matches the source"
        result = source_result(c.invoice, c.link, "planned", message)
        result.payload = {"Id": c.edit.remote.id, "SyncToken": c.edit.remote.version}
        result.payload |= {"sparse": True, **c.edit.fields}
        result.changes = list(c.edit.changes)
        out[c.invoice.number] = result
    for v in plan.voids:
        if v.already:
            out[v.invoice.number] = source_result(
                v.invoice, v.link, "voided", f"already voided in {target}"
            )
        else:
            message = f"would be voided ({v.reason})"
            out[v.invoice.number] = source_result(v.invoice, v.link, "planned", message)
    return out


def sends_line(plan: RunPlan) -> str | None:
    """With `--send`: what the run would e-mail (to stderr; the document is the push's)."""
    if not plan.sends:
        return None
    return f"--send would e-mail {len(plan.sends)} invoice(s) once created: " + ", ".join(
        plan.sends
    )

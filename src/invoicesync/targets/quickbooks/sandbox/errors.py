"""QuickBooks Faults as values: the codes, messages and details the rules raise.

Kept apart from the wire format (`wire.py` renders them) so the entity rules can raise them
without knowing about HTTP.
"""

from __future__ import annotations

from typing import Any


class Fault(Exception):
    """A QBO Fault: rendered as `{"Fault": {"Error": [...], "type": ...}}` with `status`."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        status: int = 400,
        fault_type: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status
        self.fault_type = fault_type
        self.element = element

    def body(self) -> dict[str, Any]:
        return {
            "Fault": {
                "Error": [
                    {
                        "Message": self.message,
                        "Detail": self.detail,
                        "code": self.code,
                        "element": self.element,
                    }
                ],
                "type": self.fault_type,
            }
        }


def required_missing(what: str) -> Fault:
    return Fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {what} is missing in the request",
    )


def invalid_property(detail: str, element: str = "") -> Fault:
    return Fault("2010", "Request has invalid or unsupported property", detail, element=element)


def invalid_reference(kind: str, ref: str) -> Fault:
    return Fault(
        "2500", "Invalid Reference Id", f"Invalid Reference Id : {kind} element id {ref} not found"
    )


def inactive_reference() -> Fault:
    return Fault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        "fields with accounts, customers, items, vendors or employees.",
    )


def deleted_object() -> Fault:
    return Fault(
        "610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."
    )


def not_found(entity: str, entity_id: str) -> Fault:
    return Fault(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive or "
        f"does not exist: {entity} {entity_id}",
    )


def business_error(detail: str) -> Fault:
    return Fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def stale_object(entity: str) -> Fault:
    return Fault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and root were working on this at the same time. root "
        f"finished before you did, so your work was not saved. Entity={entity}",
    )


def unsupported(detail: str) -> Fault:
    return Fault("500", "Unsupported Operation", detail)

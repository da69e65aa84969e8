"""The project's one domain error type; the API and pages map it to a response in one place."""


class DomainError(Exception):
    """A business rule refused an operation. Nothing was changed.

    `field` names the input at fault when there is one; `code` is stable for clients;
    `status` is the HTTP status the API answers with (400 bad input, 409 wrong state).
    """

    status = 400

    def __init__(
        self, message: str, *, field: str | None = None, code: str = "invalid", status: int | None = None, extra: dict | None = None
    ):
        super().__init__(message)
        self.message = str(message)
        self.field = field
        self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}

    def as_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class StateConflict(DomainError):
    status = 409

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("code", "conflict")
        super().__init__(message, **kwargs)

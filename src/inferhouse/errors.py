"""The one exception tree of inferhouse.

Every error a caller can cause is an :class:`InferhouseError`. Each class knows its HTTP status and
its ``kind`` (a short snake_case word); the HTTP dialects in ``inferhouse.api`` render it in the
shape their clients expect. Anything that is not an ``InferhouseError`` is a bug and becomes a 500
whose details stay in the server log.

    InferhouseError
    ├── BadRequest                400  bad_request
    │   ├── EmptyInput            400  empty
    │   ├── InvalidJson           400  invalid_json
    │   ├── InvalidFilter         400  invalid_filter
    │   └── ProbeFailed           400  probe_failed  (carries the error the probe call met)
    ├── Unauthorized              401  unauthorized
    ├── Forbidden                 403  forbidden
    ├── NotFound                  404  not_found
    │   ├── EndpointNotFound
    │   ├── IndexNotFound
    │   ├── InferenceNotFound
    │   ├── ModelNotFound
    │   ├── BackupNotFound
    │   └── RestoreJobNotFound
    ├── MethodNotAllowed          405  method_not_allowed
    ├── AlreadyExists             409  already_exists
    ├── Conflict                  409  conflict  (changed by another server since this one read it)
    ├── FailedPrecondition        412  failed_precondition  (not in a state that allows it yet)
    ├── PayloadTooLarge           413  payload_too_large
    ├── ValidationFailed          422  validation
    │   ├── TooManyInputs
    │   ├── InputTooLong
    │   ├── TaskMismatch          422  task_mismatch
    │   └── SettingsInvalid       400  settings  (carries every problem found, as Elasticsearch lists them)
    ├── Overloaded                429  overloaded
    ├── BackendFailure            424  backend
    │   └── OutOfMemory           424  out_of_memory
    ├── UpstreamError             502  upstream  (a remote inference service failed; its message is kept)
    │   ├── UpstreamRejected      the upstream's own 4xx status (401, 400, ...)  upstream_rejected
    │   ├── UpstreamRateLimited   429  upstream_rate_limited
    │   └── UpstreamMalformed     502  upstream_malformed
    └── Unavailable               503  unhealthy
        ├── ModelLoading          503  loading  (carries estimated_time)
        ├── EndpointPaused        503  paused
        ├── EndpointFailed        503  failed
        └── SecretUnreadable      503  secret  (a stored API key was sealed with another secret key)
"""

from __future__ import annotations


class InferhouseError(Exception):
    """Base of every error a request can cause."""

    status_code: int = 500
    kind: str = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(InferhouseError):
    """The request cannot be understood."""

    status_code = 400
    kind = "bad_request"


class EmptyInput(BadRequest):
    """The request carries nothing to work on."""

    kind = "empty"


class InvalidJson(BadRequest):
    """The body is not valid JSON."""

    kind = "invalid_json"


class InvalidFilter(BadRequest):
    """A metadata filter does not parse; the message says where."""

    kind = "invalid_filter"


class ProbeFailed(BadRequest):
    """Creating an inference configuration failed because its first call to the service failed."""

    kind = "probe_failed"

    def __init__(self, message: str, cause: InferhouseError) -> None:
        super().__init__(message)
        self.cause = cause


class Unauthorized(InferhouseError):
    """No token, or a token this server does not know."""

    status_code = 401
    kind = "unauthorized"


class Forbidden(InferhouseError):
    """The caller may not do this now (for example, deleting a protected index)."""

    status_code = 403
    kind = "forbidden"


class NotFound(InferhouseError):
    """The named thing does not exist."""

    status_code = 404
    kind = "not_found"


class EndpointNotFound(NotFound):
    """No endpoint has this name."""


class IndexNotFound(NotFound):
    """No vector index has this name."""


class InferenceNotFound(NotFound):
    """No inference configuration has this id."""


class ModelNotFound(NotFound):
    """No model with this id can be resolved offline."""


class BackupNotFound(NotFound):
    """No index backup has this id."""


class RestoreJobNotFound(NotFound):
    """No restore job has this id."""


class MethodNotAllowed(InferhouseError):
    """The route exists but not for this HTTP method."""

    status_code = 405
    kind = "method_not_allowed"


class AlreadyExists(InferhouseError):
    """Something with this name exists already."""

    status_code = 409
    kind = "already_exists"


class Conflict(InferhouseError):
    """The thing changed since this server last read it (another server sharing its database changed it
    first); nothing was changed: read it again and retry."""

    status_code = 409
    kind = "conflict"


class FailedPrecondition(InferhouseError):
    """The thing is not in a state that allows this yet (a backup still being taken, or one a restore is
    reading); nothing was changed: wait, then retry."""

    status_code = 412
    kind = "failed_precondition"


class PayloadTooLarge(InferhouseError):
    """The request body is over the configured limit."""

    status_code = 413
    kind = "payload_too_large"


class ValidationFailed(InferhouseError):
    """The request is well formed but a value is not acceptable."""

    status_code = 422
    kind = "validation"


class TooManyInputs(ValidationFailed):
    """More inputs in one request than the per-request cap."""


class InputTooLong(ValidationFailed):
    """An input is longer than the model takes and truncation is off."""


class TaskMismatch(ValidationFailed):
    """The model cannot do the requested task (it lacks the head, or the labels, the task needs)."""

    kind = "task_mismatch"


class SettingsInvalid(ValidationFailed):
    """Configuration settings (an inference config, chunking settings) break one or more rules.

    Elasticsearch reports every broken rule at once as ``Validation Failed: 1: ...;2: ...;``; the
    ``problems`` keep each rule's own sentence so tests and replies can show them verbatim.
    """

    status_code = 400
    kind = "settings"

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        listed = "".join(f"{number}: {problem};" for number, problem in enumerate(self.problems, 1))
        super().__init__(f"Validation Failed: {listed}")


class Overloaded(InferhouseError):
    """The model's queue is full, or its wait too long; the caller should retry after ``retry_after`` s."""

    status_code = 429
    kind = "overloaded"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendFailure(InferhouseError):
    """The model failed on a valid input."""

    status_code = 424
    kind = "backend"


class OutOfMemory(BackendFailure):
    """A model does not fit in the memory left for it."""

    kind = "out_of_memory"


class Unavailable(InferhouseError):
    """The service cannot answer now."""

    status_code = 503
    kind = "unhealthy"


class ModelLoading(Unavailable):
    """The model is being loaded; ``estimated_time`` says roughly how long, in seconds."""

    kind = "loading"

    def __init__(self, model_id: str, estimated_time: float) -> None:
        super().__init__(f"Model {model_id} is currently loading")
        self.model_id = model_id
        self.estimated_time = estimated_time


class EndpointPaused(Unavailable):
    """The endpoint is paused; it serves again once resumed."""

    kind = "paused"


class EndpointFailed(Unavailable):
    """The endpoint's model could not be loaded; the message says why."""

    kind = "failed"


class SecretUnreadable(Unavailable):
    """A stored secret cannot be decrypted: the secret key changed since it was stored."""

    kind = "secret"


class UpstreamError(InferhouseError):
    """A remote inference service (a configured URL) failed or gave an answer we cannot use."""

    status_code = 502
    kind = "upstream"


class UpstreamRejected(UpstreamError):
    """The remote service refused the request with a 4xx; the reply carries the same status."""

    kind = "upstream_rejected"

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class UpstreamRateLimited(UpstreamError):
    """The remote service kept answering 429 until the retries ran out."""

    status_code = 429
    kind = "upstream_rate_limited"


class UpstreamMalformed(UpstreamError):
    """The remote service answered 2xx with a body that is not what the task needs."""

    kind = "upstream_malformed"

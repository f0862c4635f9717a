"""Method-and-path routing for the fakes, with each server's own answer to unknown routes."""

from __future__ import annotations

from ._faults import ErrorFactory
from ._http import Answer, Handler, Request, Response


class RouteError(Exception):
    """Raised by a handler to give up on a request.

    The server answers `answer` if given, else its own error body for (status, message).
    """

    def __init__(self, status: int, message: str, *, answer: Response | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.answer = answer


class Router:
    """Routes by exact path, then by path prefix (for ids that may contain slashes).

    `not_found` answers unknown paths; `wrong_method` answers known paths asked with
    another method (None: treat them as unknown, as Express and llama.cpp do). A handler
    raising `RouteError` gets the body `errors` shapes.
    """

    def __init__(
        self, *, errors: ErrorFactory, not_found: Handler, wrong_method: Handler | None = None
    ) -> None:
        self._errors = errors
        self._exact: dict[str, dict[str, Handler]] = {}
        self._prefixes: list[tuple[str, str, Handler]] = []
        self._not_found = not_found
        self._wrong_method = wrong_method

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Route `method path` to `handler`."""
        self._exact.setdefault(path, {})[method] = handler

    def add_prefix(self, method: str, prefix: str, handler: Handler) -> None:
        """Route `method prefix<anything non-empty>` to `handler`."""
        self._prefixes.append((method, prefix, handler))

    def __call__(self, request: Request) -> Answer:
        try:
            return self._route(request)
        except RouteError as error:
            if error.answer is not None:
                return error.answer
            return self._errors(request, error.status, error.message)

    def _route(self, request: Request) -> Answer:
        methods = self._exact.get(request.path)
        if methods is not None:
            handler = methods.get(request.method)
            if handler is not None:
                return handler(request)
            if self._wrong_method is not None:
                return self._wrong_method(request)
            return self._not_found(request)
        for method, prefix, handler in self._prefixes:
            if (
                request.method == method
                and request.path.startswith(prefix)
                and len(request.path) > len(prefix)
            ):
                return handler(request)
        return self._not_found(request)

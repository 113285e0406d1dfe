from .context import reset_request_id, set_request_id


class RequestIdMiddleware:
    """Tags each request with an id (taken from X-Request-ID when a proxy set one) for the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")[:64]
        token = set_request_id(supplied if supplied.isprintable() else None)
        from .context import current_request_id

        request.request_id = current_request_id()
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request.request_id
        return response

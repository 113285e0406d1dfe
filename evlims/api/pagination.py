"""Page-number pagination for every list: ``?page=2&page_size=100``."""

from rest_framework.pagination import PageNumberPagination

from ..conf import evlims_settings


class EvlimsPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500

    @property
    def page_size(self):
        # Read per request so a host's EVLIMS["PAGE_SIZE"] (and test overrides) apply.
        return evlims_settings.PAGE_SIZE

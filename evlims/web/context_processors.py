def evlims(request):
    return {}

"""Characterization results: instrument posts (JSON documents and raw files), ingestions, measurements and
raw file downloads.

Posts are idempotent: with an ``Idempotency-Key`` header, a retry gets the first answer (same status and
body, header ``Idempotent-Replayed: true``) and writes nothing; the same key with another body is a 422.
An instrument's ``external_run_id`` is stored once: posting it again answers like a retry.
Everything is all or nothing: one bad result refuses the whole post, naming it (``results[3].particle…``).

One module per operation: ``posts`` (JSON result documents), ``files`` (raw file uploads), ``ingestions`` (list,
detail, commit), ``measurements`` (measurements and raw file downloads), ``corrections`` (a result corrected or
voided); what they accept in ``inputs``, what
they answer in ``outputs``, the documented examples in ``examples``, and what every post shares in ``posting``.
"""

from .corrections import MeasurementCorrectApi, MeasurementVoidApi
from .files import FileUploadApi
from .ingestions import IngestionCommitApi, IngestionDetailApi, IngestionListApi
from .measurements import MeasurementDetailApi, MeasurementListApi, RawFileDownloadApi
from .posts import ResultsPostApi

__all__ = [
    "FileUploadApi",
    "IngestionCommitApi",
    "IngestionDetailApi",
    "IngestionListApi",
    "MeasurementCorrectApi",
    "MeasurementDetailApi",
    "MeasurementListApi",
    "MeasurementVoidApi",
    "RawFileDownloadApi",
    "ResultsPostApi",
]

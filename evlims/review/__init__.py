"""QA review: preparations and runs submitted for review, verified and approved (or rejected) with electronic
signatures, and locked once approved.

Above the compliance domain: a review reads the stored evaluations (``evlims.compliance``) and signs the
evidence hash they cover. The models stay registered in ``evlims.compliance.models`` (``Review``,
``Signature``), which this package imports.

- ``services``: every write (submit, verify, approve, reject, void) and whether a preparation is locked.
- ``signatures``: the password re-entered for a signature, and its throttle.
- ``duties``: separation of duties, who produced the record under review and so may not sign it.
- ``selectors``: reviews and their signatures, the QA queue, the audit trail of the records reviewed.
- ``integrity``: signatures and review states checked against the audit trail.
"""

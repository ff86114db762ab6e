"""Publication: grades and records to the sharing platforms and the departments, with disclosure
enforced in the warehouse. See ``run`` (the run), ``tables`` (the ``publish`` schema), ``formats``,
``transport``, ``workbooks`` (the departments' Excel files) and ``publication.yml``."""

from credit_platform.publish.run import PublicationBlocked, PublicationFailed, Report, latest_period, publish

__all__ = ["PublicationBlocked", "PublicationFailed", "Report", "latest_period", "publish"]

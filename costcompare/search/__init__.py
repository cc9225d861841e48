"""`costcompare search`: one search over local transcripts/exports, S3 (direct scan or Athena) and
CloudWatch Logs (Logs Insights or FilterLogEvents), with the measured time, bytes scanned and
cost of each backend's search. ``run_search`` is the library entry point."""

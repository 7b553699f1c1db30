"""HTTP shared by every protocol: keep-alive sessions (``sessions``), retries, the body's read
watchdog and transport errors (``http``)."""

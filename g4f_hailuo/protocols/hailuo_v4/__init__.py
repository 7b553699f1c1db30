"""The retired Hailuo ``/v4`` chat (``www.hailuo.ai``, ``hailuoai.com``): protocol ``hailuo-v4``.

``signing`` + ``request`` (the signed fingerprint query), ``client`` (the calls), ``sse`` and
``stream`` (the reply's events as g4f chunks), ``turn`` (one reply)."""

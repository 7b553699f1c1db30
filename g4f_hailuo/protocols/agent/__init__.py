"""MiniMax Agent (``agent.minimax.io`` / ``agent.minimaxi.com``): protocol ``agent``.

``signing`` (query, ``x-signature``, ``yy``), ``frames`` (the SSE turn, pure),
``client`` (the signed calls), ``turn`` (one reply: session set-up and the stream).
"""

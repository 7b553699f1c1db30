"""The chat protocols ``HailuoAI`` speaks, side by side.

``agent`` (MiniMax Agent sessions + SSE, the default) and ``hailuo_v4`` (the retired
Hailuo ``/v4`` chat) each live in their own package; ``base`` is the seam the provider
sees, ``signing`` the ``yy`` signature both share.
"""

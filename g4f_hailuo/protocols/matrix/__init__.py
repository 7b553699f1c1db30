"""MiniMax Agent's older polling API (Gen A): protocol ``matrix``, and the fallback of ``agent``.

``polling`` (successive ``get_chat_detail`` answers to g4f chunks, pure), ``turn`` (one reply:
``send_msg``, the polls, ``delete_chat``). The signed calls are the Agent's (``protocols.agent``).
"""

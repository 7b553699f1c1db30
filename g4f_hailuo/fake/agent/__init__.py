"""The fake MiniMax Agent site (protocol ``agent``): ``server.FakeAgent``, ``server.run_in_thread``.

``state`` (accounts, sessions, JSON payloads), ``checks`` (the strict request checks),
``scenarios`` (the turn streams), ``cli`` (the command line).
"""

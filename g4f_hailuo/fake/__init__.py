"""Fake MiniMax sites on a loopback port, for tests, demos and benchmarks.

- ``agent``: the MiniMax Agent web chat (protocol ``agent``, the default): ``agent.server.FakeAgent``;
- ``hailuo_v4``: the retired Hailuo ``/v4`` chat (protocol ``hailuo-v4``): ``hailuo_v4.server.FakeHailuo``;
- ``common`` and ``scenario_kit``: what both share (recording, life cycle, streaming, the thread
  runner, the command line; the scenario directives, plan steps and stock pages).

``python -m g4f_hailuo.fake --protocol agent|hailuo-v4`` serves one by hand (:mod:`.cli`).
Nothing is imported here, so importing one fake does not load the other.
"""

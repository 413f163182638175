"""Engines run a shard plan: ``local`` (a process pool) and ``ray`` (Ray Data).

Each knows only the shard interface (``kronika.build.plan``, ``kronika.build.shard``),
so the bytes are the same whichever runs it, and none imports the driver.
"""

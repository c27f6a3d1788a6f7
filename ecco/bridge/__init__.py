"""The webhook bridge's adapters: the aiohttp client that POSTs to OpenClaw's hooks, and the gRPC link through which
a standalone bridge (`ecco webhook-bridge`) reads and reports to its node."""

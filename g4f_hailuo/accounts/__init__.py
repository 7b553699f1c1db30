"""Accounts, shared by every protocol: where tokens come from (``token_sources``), who the
client is (``identity``), the per-site ids it keeps (``devices``), the login cache
(``auth_cache``), the browser login (``browser_login``) and the pool that gives each account
one reply at a time (``pool``)."""

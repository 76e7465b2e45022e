"""Billing (issue 7): rating, invoices and their documents. The modules here are pure (no
Twisted, no SQL) except :mod:`gatewayd.billing.job`, the scheduled service; the database side
is :mod:`gatewayd.storage.billing`. See docs/billing.md."""

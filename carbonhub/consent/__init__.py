"""Consent and the access policy (what each principal may see, compiled into SQL)."""

from carbonhub.consent import policy

__all__ = ["policy"]

"""Adapters that turn a source (synthetic, a CRM export, CDNOW, Maven CRM) into contract tables."""

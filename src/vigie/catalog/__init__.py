"""Catalog: the metadata of every source, recording, segment, gap, hold and audit entry."""

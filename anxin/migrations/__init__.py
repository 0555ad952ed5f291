"""Alembic migrations of every relational table (registry, alerts); run through anxin.migrate."""

"""Residents and households from Excel: template, reader, validation, batch writer, report, jobs.

Kept free of imports at package level: `gridgov.people.models` imports `.models` from here so
the ImportJob table is registered with the app, and must not pull the importer in with it.
The entry point is `gridgov.people.importer.import_people`.
"""

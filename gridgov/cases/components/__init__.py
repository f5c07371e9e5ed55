"""部件普查: the registry of components (city furniture), its importer, API and pages."""

"""The release bundle (PUBLISHING.md §3): one release as SDMX-CSV with its SDMX-ML structure, a bilingual xlsx,
a Frictionless data package and a MANIFEST, for other statistics offices and the public."""

"""Objects a project declares: Salesforce DX metadata (`dx.py`) and the schema file
(`schemafile.py`), both read into `specs.ObjectSpec`s and built into schemas by
`specs.build_objects`. `flowengine.org.schemas.project_schemas` puts them together with the
standard objects and the plug-ins' objects."""
from __future__ import annotations

from flowengine.org.metadata.dx import objects_dirs, read_objects_dir
from flowengine.org.metadata.schemafile import SCHEMA_FILE, read_schema_file
from flowengine.org.metadata.specs import FieldSpec, ObjectSpec, Spot, build_objects

__all__ = ["SCHEMA_FILE", "FieldSpec", "ObjectSpec", "Spot", "build_objects", "objects_dirs",
           "read_objects_dir", "read_schema_file"]

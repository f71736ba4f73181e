"""Front ends: flow files in their source formats → source documents (data plus where each part
came from)."""

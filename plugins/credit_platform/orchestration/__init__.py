"""What the DAG files use: the Assets that chain them, default task arguments, the helpers their tasks call."""

"""The bottom layer: experiment-file reading, errors, run directories, checkpoints, devices,
hooks. It imports nothing else from the lab."""

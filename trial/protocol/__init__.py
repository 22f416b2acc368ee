"""The trial's rules as data: vertebral levels and other protocol value sets."""

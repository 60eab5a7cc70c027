"""What backups exist and how they chain: finding them, reading their metadata, LSN chains."""

"""xtrarestore core: the UI-free library."""

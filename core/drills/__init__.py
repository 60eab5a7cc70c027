"""Throwaway servers, restore drills, their reports, and the demo."""

"""Dialogs that answer a question for the screen that opened them (confirmations, the sudo password)."""

"""Visualisation of the model: slide animations and interactive views."""

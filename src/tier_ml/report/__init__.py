"""Plots and the leadership report."""

"""Propensity, LTV, opportunity, segmentation and baseline models."""

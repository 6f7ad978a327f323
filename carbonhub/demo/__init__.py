"""The embedded demo: the 2023 Beijing Green Life Season with synthetic citizens."""

from carbonhub.demo.build import DemoPlan, DemoResult, build_demo

__all__ = ["DemoPlan", "DemoResult", "build_demo"]

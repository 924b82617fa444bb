"""Payload parsing: JSON and XML into the FHIR JSON form, with positions and bounded cost."""

from conformance.instance.api import parse, parse_file, sniff_format
from conformance.instance.parsed import Limits, Parsed, Path, Position, location

__all__ = ["Limits", "Parsed", "Path", "Position", "location", "parse", "parse_file", "sniff_format"]

"""UK nations and regions, named as in the seat data (ONS regions; Scotland, Wales and NI)."""

REGIONS = (
    "East Midlands",
    "East of England",
    "London",
    "North East",
    "North West",
    "Northern Ireland",
    "Scotland",
    "South East",
    "South West",
    "Wales",
    "West Midlands",
    "Yorkshire and The Humber",
)

# Other spellings found in source data.
REGION_ALIASES = {
    "East": "East of England",
    "Eastern": "East of England",
    "Yorkshire and the Humber": "Yorkshire and The Humber",
}


def canonical_region(name: str | None) -> str | None:
    """The canonical region name for a spelling, or None if it is not a UK region."""
    if not name:
        return None
    name = " ".join(name.split())
    name = REGION_ALIASES.get(name, name)
    for region in REGIONS:
        if region.lower() == name.lower():
            return region
    return None

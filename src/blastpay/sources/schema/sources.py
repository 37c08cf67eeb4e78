"""experiments/sources/*.yaml: the sources registry, each file a list of entries (every external fact the evidence or
the ADR uses, with URL, verbatim quote and the date it was read)."""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, RootModel, StringConstraints, model_validator

from blastpay.sources.schema.common import Bounds, InputModel, PastDate, Text

SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Unit = Literal["share", "percent", "usd", "cents", "hours", "days", "count", "seconds"]
Scalar = Union[None, bool, int, float, str]


class Figure(InputModel):
    value: Annotated[float, Bounds(0, 1e9)] = Field(description="the number code reads, in `unit`")
    unit: Unit = Field(description="what the value counts")

    @model_validator(mode="after")
    def _share_or_percent_in_range(self) -> "Figure":
        top = {"share": 1.0, "percent": 100.0}.get(self.unit)
        if top is not None and self.value > top:
            raise ValueError(f"a figure in unit {self.unit!r} must be at most {top:g}, got {self.value:g}")
        return self


class SourceEntry(InputModel):
    id: SourceId = Field(description="the id the evidence, the inputs and the ADR cite")
    title: Text
    url: Url = Field(description="where the quote was read (http or https)")
    quote: Text = Field(description="verbatim and short")
    read: PastDate = Field(description="the date the quote was read, not after the pinned as-of date")
    via: Optional[Text] = Field(None, description="where the quote was taken from, when not read at the URL itself")
    secondary: Optional[bool] = Field(None, description="a third-party report rather than the vendor's own words")
    figure: Optional[Figure] = None
    figure_context: Optional[dict[str, Scalar]] = Field(
        None, description="extra data for the code that reads the figure (e.g. at_hours, beyond)")
    note: Optional[Text] = None


class SourcesFile(RootModel[list[SourceEntry]]):
    """One registry file: a YAML list of entries."""

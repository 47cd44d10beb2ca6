"""Encoding of the custom-scalars layout (plugin ``custom_scalars``).

The layout is one 0-d string tensor holding a serialized ``Layout`` under the
tag ``custom_scalars__config__``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lumiboard.format.proto import custom_scalars_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "custom_scalars"
CONFIG_TAG = "custom_scalars__config__"

#: torch's layout: {category: {chart title: ["Multiline" | "Margin", [tags]]}}
LayoutDict = Mapping[str, Mapping[str, Sequence[object]]]


def layout_from_dict(layout: LayoutDict) -> custom_scalars_pb2.Layout:
    """Build a ``Layout`` from torch's nested-dict form.

    A ``"Margin"`` chart takes exactly three tags (value, lower, upper); any
    other kind is a multiline chart whose tags are regular expressions.
    """
    if not isinstance(layout, Mapping):
        raise TypeError(f"layout must be a dict, not {type(layout).__name__}")
    categories = []
    for category, charts in layout.items():
        built = [_chart(title, spec) for title, spec in charts.items()]
        categories.append(custom_scalars_pb2.Category(title=category, chart=built))
    return custom_scalars_pb2.Layout(category=categories)


def _chart(title: str, spec: Sequence[object]) -> custom_scalars_pb2.Chart:
    if len(spec) != 2 or not isinstance(spec[1], (list, tuple)):
        raise ValueError(f"chart {title!r} must be [kind, [tags...]], got {spec!r}")
    kind, tags = spec[0], [str(tag) for tag in spec[1]]
    if kind == "Margin":
        if len(tags) != 3:
            raise ValueError(f"margin chart {title!r} needs 3 tags (value, lower, upper)")
        series = custom_scalars_pb2.MarginChartContent.Series(
            value=tags[0], lower=tags[1], upper=tags[2]
        )
        margin = custom_scalars_pb2.MarginChartContent(series=[series])
        return custom_scalars_pb2.Chart(title=title, margin=margin)
    multiline = custom_scalars_pb2.MultilineChartContent(tag=tags)
    return custom_scalars_pb2.Chart(title=title, multiline=multiline)


def merge_layouts(
    base: custom_scalars_pb2.Layout, extra: custom_scalars_pb2.Layout
) -> custom_scalars_pb2.Layout:
    """Add ``extra``'s charts to ``base``'s; a chart with a taken title replaces it."""
    merged = custom_scalars_pb2.Layout()
    merged.CopyFrom(base)
    for category in extra.category:
        target = next((c for c in merged.category if c.title == category.title), None)
        if target is None:
            merged.category.append(category)
            continue
        for chart in category.chart:
            for index, existing in enumerate(target.chart):
                if existing.title == chart.title:
                    target.chart[index].CopyFrom(chart)
                    break
            else:
                target.chart.append(chart)
    return merged


def layout_value(layout: custom_scalars_pb2.Layout) -> summary_pb2.Summary.Value:
    """The ``custom_scalars__config__`` value for ``layout``."""
    array = np.asarray(layout.SerializeToString(), dtype=object)
    return tensor_value(
        CONFIG_TAG, array, make_metadata(PLUGIN_NAME, data_class=DataClass.DATA_CLASS_TENSOR)
    )

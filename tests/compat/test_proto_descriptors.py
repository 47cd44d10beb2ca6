"""Our .proto files against TensorBoard's compiled descriptors.

Every field we declare must have the same number, type and label as
TensorBoard's field of the same name, and every enum value the same number:
that is what makes the two wire-compatible.
"""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import Descriptor, EnumDescriptor
from tensorboard.compat.proto import (
    attr_value_pb2,
    config_pb2,
    event_pb2,
    graph_pb2,
    node_def_pb2,
    step_stats_pb2,
    summary_pb2,
    tensor_pb2,
    tensor_shape_pb2,
    types_pb2,
    versions_pb2,
)
from tensorboard.plugins.audio import plugin_data_pb2 as tb_audio
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.histogram import plugin_data_pb2 as tb_histogram
from tensorboard.plugins.hparams import api_pb2 as tb_hparams_api
from tensorboard.plugins.hparams import plugin_data_pb2 as tb_hparams_data
from tensorboard.plugins.image import plugin_data_pb2 as tb_image
from tensorboard.plugins.mesh import plugin_data_pb2 as tb_mesh
from tensorboard.plugins.pr_curve import plugin_data_pb2 as tb_pr
from tensorboard.plugins.projector import projector_config_pb2
from tensorboard.plugins.scalar import plugin_data_pb2 as tb_scalar
from tensorboard.plugins.text import plugin_data_pb2 as tb_text

from lumiboard.format.proto import (
    custom_scalars_pb2,
    hparams_pb2,
    mesh_pb2,
    plugin_data_pb2,
    projector_pb2,
    run_metadata_pb2,
)
from lumiboard.format.proto import (
    event_pb2 as lb_event,
)
from lumiboard.format.proto import (
    graph_pb2 as lb_graph,
)
from lumiboard.format.proto import (
    summary_pb2 as lb_summary,
)
from lumiboard.format.proto import (
    tensor_pb2 as lb_tensor,
)
from lumiboard.format.proto import (
    tensor_shape_pb2 as lb_shape,
)
from lumiboard.format.proto import (
    types_pb2 as lb_types,
)

MESSAGES = [
    (lb_event.Event, event_pb2.Event),
    (lb_event.SessionLog, event_pb2.SessionLog),
    (lb_event.LogMessage, event_pb2.LogMessage),
    (lb_event.TaggedRunMetadata, event_pb2.TaggedRunMetadata),
    (lb_event.SourceMetadata, event_pb2.SourceMetadata),
    (lb_summary.Summary, summary_pb2.Summary),
    (lb_summary.SummaryMetadata, summary_pb2.SummaryMetadata),
    (lb_summary.HistogramProto, summary_pb2.HistogramProto),
    (lb_summary.SummaryDescription, summary_pb2.SummaryDescription),
    (lb_tensor.TensorProto, tensor_pb2.TensorProto),
    (lb_shape.TensorShapeProto, tensor_shape_pb2.TensorShapeProto),
    (lb_graph.GraphDef, graph_pb2.GraphDef),
    (lb_graph.NodeDef, node_def_pb2.NodeDef),
    (lb_graph.AttrValue, attr_value_pb2.AttrValue),
    (lb_graph.NameAttrList, attr_value_pb2.NameAttrList),
    (lb_graph.VersionDef, versions_pb2.VersionDef),
    (run_metadata_pb2.RunMetadata, config_pb2.RunMetadata),
    (run_metadata_pb2.StepStats, step_stats_pb2.StepStats),
    (run_metadata_pb2.DeviceStepStats, step_stats_pb2.DeviceStepStats),
    (run_metadata_pb2.NodeExecStats, step_stats_pb2.NodeExecStats),
    (run_metadata_pb2.AllocatorMemoryUsed, step_stats_pb2.AllocatorMemoryUsed),
    (run_metadata_pb2.NodeOutput, step_stats_pb2.NodeOutput),
    (plugin_data_pb2.ScalarPluginData, tb_scalar.ScalarPluginData),
    (plugin_data_pb2.HistogramPluginData, tb_histogram.HistogramPluginData),
    (plugin_data_pb2.ImagePluginData, tb_image.ImagePluginData),
    (plugin_data_pb2.AudioPluginData, tb_audio.AudioPluginData),
    (plugin_data_pb2.TextPluginData, tb_text.TextPluginData),
    (plugin_data_pb2.PrCurvePluginData, tb_pr.PrCurvePluginData),
    (custom_scalars_pb2.Layout, layout_pb2.Layout),
    (custom_scalars_pb2.Category, layout_pb2.Category),
    (custom_scalars_pb2.Chart, layout_pb2.Chart),
    (custom_scalars_pb2.MultilineChartContent, layout_pb2.MultilineChartContent),
    (custom_scalars_pb2.MarginChartContent, layout_pb2.MarginChartContent),
    (mesh_pb2.MeshPluginData, tb_mesh.MeshPluginData),
    (hparams_pb2.Experiment, tb_hparams_api.Experiment),
    (hparams_pb2.HParamInfo, tb_hparams_api.HParamInfo),
    (hparams_pb2.Interval, tb_hparams_api.Interval),
    (hparams_pb2.MetricName, tb_hparams_api.MetricName),
    (hparams_pb2.MetricInfo, tb_hparams_api.MetricInfo),
    (hparams_pb2.HParamsPluginData, tb_hparams_data.HParamsPluginData),
    (hparams_pb2.SessionStartInfo, tb_hparams_data.SessionStartInfo),
    (hparams_pb2.SessionEndInfo, tb_hparams_data.SessionEndInfo),
    (projector_pb2.ProjectorConfig, projector_config_pb2.ProjectorConfig),
    (projector_pb2.EmbeddingInfo, projector_config_pb2.EmbeddingInfo),
    (projector_pb2.SpriteMetadata, projector_config_pb2.SpriteMetadata),
]

ENUMS = [
    (lb_types.DataType.DESCRIPTOR, types_pb2.DataType.DESCRIPTOR),
    (lb_summary.DataClass.DESCRIPTOR, summary_pb2.DataClass.DESCRIPTOR),
    (hparams_pb2.HParamDataType.DESCRIPTOR, tb_hparams_api.DataType.DESCRIPTOR),
    (hparams_pb2.DatasetType.DESCRIPTOR, tb_hparams_api.DatasetType.DESCRIPTOR),
    (hparams_pb2.Status.DESCRIPTOR, tb_hparams_api.Status.DESCRIPTOR),
]


def _assert_enum_matches(ours: EnumDescriptor, theirs: EnumDescriptor) -> None:
    theirs_by_name = {v.name: v.number for v in theirs.values}
    for value in ours.values:
        assert value.name in theirs_by_name, f"{ours.full_name}.{value.name} not in TensorBoard"
        assert value.number == theirs_by_name[value.name], f"{ours.full_name}.{value.name}"


def _assert_message_matches(
    ours: Descriptor, theirs: Descriptor, seen: set[str] | None = None
) -> None:
    seen = set() if seen is None else seen
    if ours.full_name in seen:  # recursive types (AttrValue <-> NameAttrList)
        return
    seen.add(ours.full_name)
    for field in ours.fields:
        other = theirs.fields_by_name.get(field.name)
        assert other is not None, f"{ours.full_name}.{field.name} is not in {theirs.full_name}"
        where = f"{ours.full_name}.{field.name}"
        assert field.number == other.number, where
        assert field.type == other.type, where
        assert field.is_repeated == other.is_repeated, where
        if field.message_type is not None and field.message_type.full_name.startswith("lumiboard"):
            _assert_message_matches(field.message_type, other.message_type, seen)
        if field.enum_type is not None:
            _assert_enum_matches(field.enum_type, other.enum_type)
        if field.containing_oneof is not None:
            assert other.containing_oneof is not None, where
            assert field.containing_oneof.name == other.containing_oneof.name, where


@pytest.mark.parametrize(("ours", "theirs"), MESSAGES, ids=lambda m: m.DESCRIPTOR.full_name)
def test_message_fields_match_tensorboard(ours: type, theirs: type) -> None:
    _assert_message_matches(ours.DESCRIPTOR, theirs.DESCRIPTOR)


@pytest.mark.parametrize(("ours", "theirs"), ENUMS, ids=lambda e: e.full_name)
def test_enum_values_match_tensorboard(ours: EnumDescriptor, theirs: EnumDescriptor) -> None:
    _assert_enum_matches(ours, theirs)


def test_every_lumiboard_message_is_compared() -> None:
    compared = {ours.DESCRIPTOR.full_name for ours, _ in MESSAGES}
    modules = [
        lb_event,
        lb_summary,
        lb_tensor,
        lb_shape,
        lb_graph,
        run_metadata_pb2,
        plugin_data_pb2,
        custom_scalars_pb2,
        mesh_pb2,
        hparams_pb2,
        projector_pb2,
    ]
    declared = {
        msg.full_name
        for module in modules
        for msg in module.DESCRIPTOR.message_types_by_name.values()
    }
    # TensorDescription is compared through NodeOutput.
    assert declared - compared <= {"lumiboard.TensorDescription"}

"""lumiboard.hparams against tensorboard.plugins.hparams.api, side by side.

TensorBoard's ``summary_v2`` module is pure Python (its writing functions need
TensorFlow, its ``*_pb`` functions and domains do not), so every domain, proto
and summary is compared with the real one: same errors, same sorting and dtype,
same bytes once our protos are re-parsed as TensorBoard's.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2 as tb_event_pb2
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.plugins.hparams import api_pb2 as tb_api_pb2
from tensorboard.plugins.hparams import metadata as tb_metadata
from tensorboard.plugins.hparams import plugin_data_pb2 as tb_plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as tb
from tensorboard.util import tensor_util

from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp
from lumiboard.format.proto import hparams_pb2
from lumiboard.writer import functional


@pytest.fixture(autouse=True)
def _no_default_writer() -> Iterator[None]:
    functional._state.writer = None
    yield
    functional._state.writer = None


def as_tb_summary(ours: Any) -> tb_summary_pb2.Summary:
    return tb_summary_pb2.Summary.FromString(ours.SerializeToString())


def tb_as_written(theirs: tb_summary_pb2.Summary) -> tb_summary_pb2.Summary:
    """TensorBoard's summary with the data class its reader assigns to hparams.

    ``summary_v2`` leaves ``data_class`` unset and ``dataclass_compat`` sets it
    to TENSOR on read; we write TENSOR directly. Everything else is untouched.
    """
    copy = tb_summary_pb2.Summary()
    copy.CopyFrom(theirs)
    for value in copy.value:
        value.metadata.data_class = tb_summary_pb2.DATA_CLASS_TENSOR
    return copy


def parsed_content(summary_pb: tb_summary_pb2.Summary) -> list[Any]:
    return [
        tb_plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
        for value in summary_pb.value
    ]


def without_content(summary_pb: tb_summary_pb2.Summary) -> tb_summary_pb2.Summary:
    copy = tb_summary_pb2.Summary()
    copy.CopyFrom(summary_pb)
    for value in copy.value:
        value.metadata.plugin_data.ClearField("content")
    return copy


def assert_same_summary(ours: Any, theirs: tb_summary_pb2.Summary) -> None:
    expected = tb_as_written(theirs)
    actual = as_tb_summary(ours)
    # The content is compared parsed: protobuf serializes the entries of a map
    # (SessionStartInfo.hparams) in no fixed order, in TensorBoard as here.
    assert parsed_content(actual) == parsed_content(expected)
    assert without_content(actual) == without_content(expected)
    if not any(content.HasField("session_start_info") for content in parsed_content(actual)):
        assert ours.SerializeToString() == expected.SerializeToString()


# ---- domains ----------------------------------------------------------------------

DOMAIN_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("IntInterval", (1, 4), {}),
    ("IntInterval", (-3, -3), {}),
    ("IntInterval", (4, 1), {}),
    ("IntInterval", (1.0, 4), {}),
    ("IntInterval", (1, 4.5), {}),
    ("IntInterval", (None, 3), {}),
    ("IntInterval", (), {}),
    ("RealInterval", (0.1, 0.5), {}),
    ("RealInterval", (np.float64(0.1), 0.5), {}),
    ("RealInterval", (0.5, 0.1), {}),
    ("RealInterval", (1, 2.0), {}),
    ("RealInterval", (1.0, None), {}),
    ("Discrete", ([3, 1, 2],), {}),
    ("Discrete", (["sgd", "adam", "Adam"],), {}),
    ("Discrete", ([True, False],), {}),
    ("Discrete", ([0.5, 0.1, 1e-3],), {}),
    ("Discrete", ((x for x in [2, 1]),), {}),
    ("Discrete", ([],), {"dtype": int}),
    ("Discrete", ([],), {"dtype": str}),
    ("Discrete", ([True, 1],), {"dtype": int}),
    ("Discrete", ([],), {}),
    ("Discrete", ([1, "a"],), {}),
    ("Discrete", ([1.0, 2],), {}),
    ("Discrete", ([1, 2],), {"dtype": float}),
    ("Discrete", ([1, 2],), {"dtype": list}),
    ("Discrete", ([None],), {}),
    ("Discrete", ([[1]],), {}),
]


def build(module: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The domain, or the type of the error the constructor raises."""
    # Generators are consumed once: give each side its own copy.
    args = tuple(list(arg) if hasattr(arg, "__next__") else arg for arg in args)
    try:
        return getattr(module, name)(*args, **kwargs)
    except Exception as error:
        return type(error)


@pytest.mark.parametrize(("name", "args", "kwargs"), DOMAIN_CASES)
def test_domain_behaves_like_tensorboard(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    args_copy = tuple(list(arg) if hasattr(arg, "__next__") else arg for arg in args)
    ours = build(hp, name, args_copy, kwargs)
    theirs = build(tb, name, args_copy, kwargs)
    if isinstance(theirs, type):
        assert ours is theirs  # the same error type
        return
    assert isinstance(ours, hp.Domain)
    assert ours.dtype is theirs.dtype
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    if name == "Discrete":
        assert ours.values == theirs.values  # sorted
        assert ours.values is not ours.values  # a copy each time
    else:
        assert (ours.min_value, ours.max_value) == (theirs.min_value, theirs.max_value)
    ours_info, theirs_info = hparams_pb2.HParamInfo(name="x"), tb_api_pb2.HParamInfo(name="x")
    ours.update_hparam_info(ours_info)
    theirs.update_hparam_info(theirs_info)
    assert ours_info.SerializeToString() == theirs_info.SerializeToString()
    if name != "Discrete" or ours.values:
        assert [ours.sample_uniform(random.Random(seed)) for seed in range(20)] == [
            theirs.sample_uniform(random.Random(seed)) for seed in range(20)
        ]


def test_update_hparam_info_replaces_a_previous_discrete_domain() -> None:
    ours_info = hparams_pb2.HParamInfo(name="x")
    theirs_info = tb_api_pb2.HParamInfo(name="x")
    for domain_module, info in ((hp, ours_info), (tb, theirs_info)):
        domain_module.Discrete(["a", "b"]).update_hparam_info(info)
        domain_module.Discrete(["c"]).update_hparam_info(info)
    assert ours_info.SerializeToString() == theirs_info.SerializeToString()
    assert [v.string_value for v in ours_info.domain_discrete.values] == ["c"]


def test_int_interval_refuses_bool_bounds() -> None:
    # Stricter than TensorBoard, which accepts True as an int.
    with pytest.raises(TypeError, match="min_value"):
        hp.IntInterval(True, 3)


def test_hparam_and_metric_validation_match_tensorboard() -> None:
    for module in (hp, tb):
        with pytest.raises(ValueError, match="not a domain"):
            module.HParam("x", domain="not a domain")
        with pytest.raises(ValueError, match="invalid dataset type"):
            module.Metric("loss", dataset_type=7)
    ours, theirs = hp.HParam("lr", hp.RealInterval(0.1, 0.2)), tb.HParam("lr")
    assert (ours.name, ours.display_name, ours.description) == (
        theirs.name,
        theirs.display_name,
        theirs.description,
    )
    assert str(hp.HParam("lr", hp.IntInterval(1, 2))) == str(tb.HParam("lr", tb.IntInterval(1, 2)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tag": "loss"},
        {"tag": "val/loss", "group": "validation", "display_name": "Val loss"},
        {"tag": "acc", "description": "**accuracy**", "dataset_type": tb.Metric.TRAINING},
        {"tag": "acc", "group": "", "dataset_type": tb.Metric.VALIDATION},
    ],
)
def test_metric_proto_matches_tensorboard(kwargs: dict[str, Any]) -> None:
    assert hp.Metric.TRAINING == tb.Metric.TRAINING
    assert hp.Metric.VALIDATION == tb.Metric.VALIDATION
    ours = hp.Metric(**kwargs).as_proto()
    theirs = tb.Metric(**kwargs).as_proto()
    assert ours.SerializeToString() == theirs.SerializeToString()


# ---- summaries ---------------------------------------------------------------------


def experiment(module: Any) -> tuple[list[Any], list[Any]]:
    hparams = [
        module.HParam("lr", module.RealInterval(1e-4, 1e-1), display_name="LR"),
        module.HParam("layers", module.IntInterval(1, 8), description="depth"),
        module.HParam("optimizer", module.Discrete(["sgd", "adam"])),
        module.HParam("dropout", module.Discrete([0.5, 0.1])),
        module.HParam("batchnorm", module.Discrete([True, False])),
        module.HParam("free"),
    ]
    metrics = [
        module.Metric("loss"),
        module.Metric("accuracy", group="validation", display_name="Accuracy"),
        module.Metric("epoch_loss", group="train", dataset_type=module.Metric.TRAINING),
    ]
    return hparams, metrics


@pytest.mark.parametrize("time_created_secs", [1_700_000_000.25, 0.0])
def test_hparams_config_pb_matches_tensorboard(time_created_secs: float) -> None:
    ours = hp.hparams_config_pb(*experiment(hp), time_created_secs=time_created_secs)
    theirs = tb.hparams_config_pb(*experiment(tb), time_created_secs=time_created_secs)
    assert_same_summary(ours, theirs)
    (value,) = as_tb_summary(ours).value
    assert value.tag == tb_metadata.EXPERIMENT_TAG
    assert value.tensor == tb_metadata.NULL_TENSOR


def test_hparams_config_pb_defaults_to_now() -> None:
    (value,) = as_tb_summary(hp.hparams_config_pb(*experiment(hp))).value
    content = tb_metadata.parse_experiment_plugin_data(value.metadata.plugin_data.content)
    assert content.time_created_secs > 1_600_000_000


HPARAM_VALUES: list[Callable[[Any], dict[Any, Any]]] = [
    lambda m: {"lr": 0.01, "layers": 3, "optimizer": "adam", "batchnorm": True},
    lambda m: {m.HParam("lr"): 0.5, "layers": 2},
    lambda m: {"neg": -1, "big": 10**12, "zero": 0.0, "text": "ünï"},
    lambda m: {
        "f32": np.float32(0.1),
        "f64": np.float64(0.25),
        "i64": np.int64(3),
        "b": np.bool_(False),
        "s": np.str_("sgd"),
    },
    lambda m: {},
]


@pytest.mark.parametrize("make_values", HPARAM_VALUES)
@pytest.mark.parametrize("trial_id", [None, "trial-7"])
def test_hparams_pb_matches_tensorboard(
    make_values: Callable[[Any], dict[Any, Any]], trial_id: str | None
) -> None:
    ours = hp.hparams_pb(make_values(hp), trial_id=trial_id, start_time_secs=123.5)
    theirs = tb.hparams_pb(make_values(tb), trial_id=trial_id, start_time_secs=123.5)
    assert_same_summary(ours, theirs)


def test_default_group_name_is_the_sha256_of_the_values() -> None:
    values = {"layers": 3, "lr": 0.5, "optimizer": "adam", "bn": False}
    (value,) = as_tb_summary(hp.hparams_pb(values, start_time_secs=1.0)).value
    content = tb_metadata.parse_session_start_info_plugin_data(value.metadata.plugin_data.content)
    compact = json.dumps(values, sort_keys=True, separators=(",", ":"))
    # Ints stay ints in the hash: {"layers":3}, not {"layers":3.0}.
    assert '"layers":3,' in compact
    assert content.group_name == hashlib.sha256(compact.encode()).hexdigest()
    assert content.hparams["layers"].number_value == 3.0


def test_hparams_pb_normalizes_numpy_and_torch_scalars() -> None:
    plain = hp.hparams_pb({"a": 3, "b": 0.5, "c": True}, start_time_secs=1.0)
    numpy_values = hp.hparams_pb(
        {"a": np.int32(3), "b": np.float64(0.5), "c": np.bool_(True)}, start_time_secs=1.0
    )
    array_values = hp.hparams_pb(
        {"a": np.array(3), "b": np.array([0.5]), "c": np.array(True)}, start_time_secs=1.0
    )
    assert plain == numpy_values == array_values
    torch = pytest.importorskip("torch")
    tensor_values = hp.hparams_pb(
        {"a": torch.tensor(3), "b": torch.tensor(0.5), "c": torch.tensor(True)},
        start_time_secs=1.0,
    )
    assert tensor_values == plain


@pytest.mark.parametrize(
    ("values", "trial_id", "error"),
    [
        ({"a": [1, 2]}, None, TypeError),
        ({"a": None}, None, TypeError),
        ({"a": np.zeros(2)}, None, TypeError),
        ({"a": 1, tb.HParam("a"): 2}, None, ValueError),
        ({"a": 1}, 7, TypeError),
    ],
)
def test_hparams_pb_errors_match_tensorboard(
    values: dict[Any, Any], trial_id: Any, error: type[Exception]
) -> None:
    ours_values = {
        hp.HParam(key.name) if isinstance(key, tb.HParam) else key: value
        for key, value in values.items()
    }
    with pytest.raises(error):
        hp.hparams_pb(ours_values, trial_id=trial_id)
    with pytest.raises(error):
        tb.hparams_pb(values, trial_id=trial_id)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", tb_api_pb2.STATUS_SUCCESS),
        ("failure", tb_api_pb2.STATUS_FAILURE),
        ("running", tb_api_pb2.STATUS_RUNNING),
        ("unknown", tb_api_pb2.STATUS_UNKNOWN),
    ],
)
def test_session_end_pb_matches_tensorboard(status: str, expected: int) -> None:
    # TensorBoard's session_end_pb lives in its TensorFlow-only summary.py; build
    # its output from the pieces it uses.
    theirs = tb_summary_pb2.Summary()
    info = tb_plugin_data_pb2.SessionEndInfo(status=expected, end_time_secs=99.0)
    theirs.value.add(
        tag=tb_metadata.SESSION_END_INFO_TAG,
        metadata=tb_metadata.create_summary_metadata(
            tb_plugin_data_pb2.HParamsPluginData(session_end_info=info)
        ),
        tensor=tb_metadata.NULL_TENSOR,
    )
    assert_same_summary(hp.session_end_pb(status, end_time_secs=99.0), theirs)


def test_session_end_pb_refuses_unknown_status() -> None:
    with pytest.raises(ValueError, match="status"):
        hp.session_end_pb("done")


# ---- writing ----------------------------------------------------------------------


def read_hparams_events(logdir: Path) -> list[tuple[int, tb_summary_pb2.Summary.Value]]:
    values = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        for record in event_file_loader.RawEventFileLoader(str(path)).Load():
            event = tb_event_pb2.Event.FromString(record)
            values.extend((event.step, value) for value in event.summary.value)
    return values


def test_functions_return_false_without_a_writer() -> None:
    hparams, metrics = experiment(hp)
    assert hp.hparams_config(hparams, metrics) is False
    assert hp.hparams({"lr": 0.1}) is False
    assert hp.session_end() is False


def write_session(writer: Any) -> None:
    hparams, metrics = experiment(hp)
    assert hp.hparams_config(hparams, metrics, time_created_secs=5.0, writer=writer) is True
    assert hp.hparams({hparams[0]: 0.01, "optimizer": "sgd"}, "t0", 6.0, writer=writer) is True
    assert hp.session_end("failure", 7.0, writer=writer) is True


def check_session(logdir: Path) -> None:
    values = read_hparams_events(logdir)
    assert [(step, value.tag) for step, value in values] == [
        (0, tb_metadata.EXPERIMENT_TAG),
        (0, tb_metadata.SESSION_START_INFO_TAG),
        (0, tb_metadata.SESSION_END_INFO_TAG),
    ]
    hparams, metrics = experiment(hp)
    expected = [
        hp.hparams_config_pb(hparams, metrics, time_created_secs=5.0),
        hp.hparams_pb({"lr": 0.01, "optimizer": "sgd"}, "t0", 6.0),
        hp.session_end_pb("failure", 7.0),
    ]
    for (_, value), summary_pb in zip(values, expected, strict=True):
        assert value == as_tb_summary(summary_pb).value[0]
        array = tensor_util.make_ndarray(value.tensor)
        assert array.dtype == np.float32
        assert array.shape == (0,)


def test_writes_to_a_pytorch_style_summary_writer(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    write_session(writer)
    writer.close()
    check_session(tmp_path)


def test_writes_to_a_tf2_style_writer(tmp_path: Path) -> None:
    writer = summary.create_file_writer(tmp_path)
    write_session(writer)
    writer.close()
    check_session(tmp_path)


def test_writes_to_the_default_writer_at_step_zero(tmp_path: Path) -> None:
    with summary.create_file_writer(tmp_path).as_default(step=42):
        write_session(None)
    check_session(tmp_path)

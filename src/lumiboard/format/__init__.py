"""The on-disk format: protos, TFRecord framing, numpy <-> TensorProto."""
